/**
 * A mistake in how llmuxctl was invoked (a bad `--server` URL, an unreadable `--ca` file) that commander's own
 * parsing cannot see. The command reports it as a usage error (exit code 2) rather than an RPC failure (exit 1),
 * so scripts can tell "fix the command line" from "the gateway said no".
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
