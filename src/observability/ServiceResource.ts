/**
 * The resource every span and metric carries: service.name, service.version (the
 * package's), service.instance.id (the host name: the pod's name in Kubernetes), overridden
 * by OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (where the downward API puts k8s.*).
 */
import * as Resource from "@effect/opentelemetry/Resource"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { Effect, Layer } from "effect"
import { hostname } from "node:os"
import packageJson from "../../package.json" with { type: "json" }

export const layer = (serviceName: string): Layer.Layer<Resource.Resource> =>
  Layer.effect(Resource.Resource, Effect.gen(function*() {
    const fromEnv = yield* Resource.Resource
    return resourceFromAttributes({
      "service.name": serviceName,
      "service.version": packageJson.version,
      "service.instance.id": hostname()
    }).merge(fromEnv)
  })).pipe(Layer.provide(Resource.layerFromEnv()))
