/**
 * A configuration the server cannot start with. It is raised at startup, before any request exists, so it is a
 * plain Error for the CLI to print rather than an LlmuxError (which describes a failed request).
 *
 * Each issue is one self-contained line of the form `SOURCE: KEY.PATH: what is wrong`, where SOURCE is the
 * config file as given, `environment`, or `command line`; backend indexes count from 0 in file order. The
 * message is the issues joined by newlines, so an operator sees every problem at once instead of fixing them
 * one restart at a time. Messages never contain secret values.
 */
export class ConfigError extends Error {
  /** Every problem found, one line each, in the order they were found. */
  readonly issues: string[];

  constructor(issues: readonly string[]) {
    super(issues.join("\n"));
    this.name = "ConfigError";
    this.issues = [...issues];
  }
}
