/**
 * Where the service's settings come from: the process environment, read so that a
 * variable set to an empty value is refused by name instead of quietly taking the default.
 */
import { Config, ConfigProvider, Option } from "effect"

/**
 * The process environment as a ConfigProvider. Effect's default provider reads
 * `TIMEOUT_MS=` as unset, so a blanked variable (a template or a Secret that rendered
 * nothing) would start the service on the default; keeping "" lets `filled` refuse it.
 */
export const environment = (): ConfigProvider.ConfigProvider => ConfigProvider.fromEnv({ preserveEmptyStrings: true })

/** The message of an empty setting; names the variable first, as every start-up refusal does. */
export const emptyMessage = (name: string): string =>
  `${name}: the variable is set but empty; give it a value or unset it to use the default`

/** `config`, read only when the variable `name` is not set to an empty or blank value. */
export const filled = <A>(name: string, config: Config.Config<A>): Config.Config<A> =>
  Config.option(Config.String(name)).pipe(
    Config.flatMap((raw) =>
      Option.isSome(raw) && raw.value.trim() === ""
        ? Config.fail(new ConfigProvider.SourceError({ message: emptyMessage(name) }))
        : config
    )
  )
