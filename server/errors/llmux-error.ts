import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, Reason } from "../../gen/llmux/type/v1/error_pb.js";
import { REASONS, reasonForCode } from "./reasons.js";

export { Reason };

/** Optional facts attached to an error. */
export interface LlmuxErrorOptions {
  /** The request field at fault, as a dotted path. */
  param?: string;
  /** The status the upstream answered with. */
  upstreamStatus?: number;
  /** The error type the upstream reported. */
  upstreamType?: string;
  /** When the client may retry, in milliseconds from now. */
  retryAfterMs?: number;
  /** The underlying error; logged, never sent. */
  cause?: unknown;
}

/**
 * The one error type of llmux. It is a ConnectError (so Connect, gRPC and gRPC-Web handlers send it as is, with
 * an ErrorInfo detail) that also carries its reason in plain fields, so the HTTP facade can render it in the
 * client's dialect without decoding anything.
 */
export class LlmuxError extends ConnectError {
  readonly reason: Reason;
  readonly param: string | undefined;
  readonly upstreamStatus: number | undefined;
  readonly upstreamType: string | undefined;
  readonly retryAfterMs: number | undefined;

  /** ConnectError overrides instanceof; restore the prototype-chain check for this subclass. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && Object.prototype.isPrototypeOf.call(LlmuxError.prototype, value);
  }

  constructor(reason: Reason, message: string, options: LlmuxErrorOptions = {}) {
    const info = create(ErrorInfoSchema, {
      reason,
      param: options.param ?? "",
      upstreamStatus: options.upstreamStatus ?? 0,
      retryAfterMs: options.retryAfterMs === undefined ? 0 : Math.min(0xffffffff, Math.max(0, Math.ceil(options.retryAfterMs))),
      upstreamType: options.upstreamType ?? "",
    });
    super(message, REASONS[reason].code, undefined, [{ desc: ErrorInfoSchema, value: info }], options.cause);
    // `name` stays "ConnectError": ConnectError's instanceof check is by name for anything but its own prototype,
    // and Connect handlers must recognise this error to send its code and details.
    this.reason = reason;
    this.param = options.param;
    this.upstreamStatus = options.upstreamStatus;
    this.upstreamType = options.upstreamType;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Creates an LlmuxError; the only way code in llmux should construct a failure. */
export function llmuxError(reason: Reason, message: string, options?: LlmuxErrorOptions): LlmuxError {
  return new LlmuxError(reason, message, options);
}

/**
 * Normalizes anything thrown into an LlmuxError. Unknown errors become INTERNAL with a generic message and the
 * original kept as `cause` for the log, so no stack or internal detail reaches a client.
 */
export function toLlmuxError(err: unknown): LlmuxError {
  if (err instanceof LlmuxError) return err;
  if (err instanceof ConnectError) {
    const reason = reasonForCode(err.code);
    return new LlmuxError(reason, reason === Reason.INTERNAL ? "internal error" : err.rawMessage, { cause: err });
  }
  return new LlmuxError(Reason.INTERNAL, "internal error", { cause: err });
}
