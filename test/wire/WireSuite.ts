/**
 * A suite of wire tests: skipped, its name saying why, where the mock cluster's toolchain
 * (or kcat) is missing; a failing test instead when REQUIRE_WIRE_TESTS says they must run.
 */
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { mockClusterAvailable, wireTestsRequired } from "../support/MockKafkaCluster.ts"

/** Why the wire tests cannot run here (no mock toolchain, or no kcat when `kcat`), or undefined. */
const unavailableHere = (kcat: boolean): string | undefined => {
  const toolchain = mockClusterAvailable()
  if (!toolchain.ok) return toolchain.reason
  if (!kcat) return undefined
  const probe = spawnSync("kcat", ["-V"], { encoding: "utf8" })
  return probe.error !== undefined || probe.status !== 0 ? "kcat not on PATH; install with: apt-get install -y kcat" : undefined
}

/** `describe(suite, body)` for tests that need the mock cluster (and kcat); `what` names them in the failure. */
export const describeWire = (suite: string, { what, kcat }: { readonly what: string; readonly kcat: boolean }, body: () => void) => {
  const unavailable = unavailableHere(kcat)
  if (unavailable !== undefined && wireTestsRequired()) {
    describe(suite, () => {
      it(`has the mock Kafka toolchain${kcat ? " and kcat" : ""} (required by REQUIRE_WIRE_TESTS)`, () => {
        const message = `REQUIRE_WIRE_TESTS is set but ${what} cannot run: ${unavailable}`
        // Also on stderr: the error summary of some vitest/Node pairings crashes before printing.
        console.error(message)
        expect.fail(message)
      })
    })
  }
  describe.skipIf(unavailable !== undefined)(`${suite}${unavailable !== undefined ? ` (skipped: ${unavailable})` : ""}`, body)
}
