import type { Dispatcher } from "undici";
import { llmuxError, Reason, type LlmuxError } from "../errors/llmux-error.js";
import type { CancelSignal } from "../lib/cancellation.js";
import { BodyTooLargeError, joinChunks, type ByteBody } from "../lib/read-body.js";
import type { UpstreamResponse } from "./provider.js";

/** Chunks queued before the upstream socket is paused: a slow client must not make llmux buffer a whole answer. */
const HIGH_WATER_CHUNKS = 64;

type Settle<T> = { resolve: (value: T) => void; reject: (err: unknown) => void };

/**
 * One upstream request over undici's dispatch API, and its response body as an async iterable. undici's `request()`
 * wraps every body in a Node `Readable` and its async iterator, and an abort in an `AbortSignal` listener; for an
 * answer of one JSON chunk or a stream of small SSE writes that machinery costs more than the proxying. Here each
 * chunk goes from the socket parser to the consumer's pending `next()` (or a short queue), with backpressure by
 * pausing the socket, and the request is aborted through undici's controller when the caller's signal fires or the
 * consumer stops iterating early. Failures reach the caller through `classify`, in both phases.
 */
class UpstreamExchange implements Dispatcher.DispatchHandler, AsyncIterableIterator<Uint8Array>, ByteBody {
  #controller: Dispatcher.DispatchController | undefined;
  #response: Settle<UpstreamResponse> | undefined;
  #waiting: Settle<IteratorResult<Uint8Array>> | undefined;
  #queue: Buffer[] = [];
  #head = 0;
  #ended = false;
  #error: LlmuxError | undefined;
  /** Set while `readAll` gathers the body: chunks are kept here instead of going to `next()`. */
  #whole: { limit: number; size: number; chunks: Buffer[]; settle: Settle<Buffer> } | undefined;
  readonly #onAbort = () => this.#abort(this.signal.reason);

  constructor(
    private readonly signal: CancelSignal,
    private readonly classify: (err: unknown) => LlmuxError,
    response: Settle<UpstreamResponse>,
  ) {
    this.#response = response;
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.signal.aborted) controller.abort(asError(this.signal.reason));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    const response = this.#response;
    this.#response = undefined;
    response?.resolve({ status: statusCode, headers, body: this });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const whole = this.#whole;
    if (whole) {
      whole.size += chunk.byteLength;
      if (whole.size > whole.limit) this.#tooLarge();
      else whole.chunks.push(chunk);
      return;
    }
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve({ value: chunk, done: false });
      return;
    }
    this.#queue.push(chunk);
    if (this.#queue.length - this.#head >= HIGH_WATER_CHUNKS) controller.pause();
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#detach();
    const whole = this.#whole;
    if (whole) {
      this.#whole = undefined;
      whole.settle.resolve(joinChunks(whole.chunks, whole.size));
      return;
    }
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#fail(this.classify(err));
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Buffer;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
        // Drained: let the socket flow again.
        if (this.#controller?.paused) this.#controller.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  readAll(limit: number): Promise<Buffer> {
    const chunks = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    let size = 0;
    for (const chunk of chunks) size += chunk.byteLength;
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#whole = { limit, size, chunks, settle: { resolve, reject } };
      if (size > limit) this.#tooLarge();
      else if (this.#ended) this.onResponseEnd();
      else if (this.#controller?.paused) this.#controller.resume();
    });
  }

  /** The consumer stopped early (a `break`, or its own failure): the upstream must not keep sending. */
  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.#ended && !this.#error) this.#abort(llmuxError(Reason.CANCELED, "response body abandoned"));
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #abort(reason: unknown): void {
    const error = asError(reason);
    // Before the request reached a socket there is no controller yet: fail now, and onRequestStart aborts it.
    if (this.#controller) this.#controller.abort(error);
    this.#fail(this.classify(error));
  }

  /** `readAll` went past its limit: the upstream is dropped, and the reader told why. */
  #tooLarge(): void {
    const whole = this.#whole!;
    this.#whole = undefined;
    this.#abort(llmuxError(Reason.CANCELED, "response body too large"));
    whole.settle.reject(new BodyTooLargeError(whole.limit));
  }

  #fail(error: LlmuxError): void {
    if (this.#ended || this.#error) return;
    this.#error = error;
    this.#detach();
    const whole = this.#whole;
    this.#whole = undefined;
    whole?.settle.reject(error);
    const response = this.#response;
    this.#response = undefined;
    response?.reject(error);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }

  #detach(): void {
    this.signal.removeEventListener("abort", this.#onAbort);
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : llmuxError(Reason.CANCELED, "request canceled");
}

/**
 * Sends one request through `dispatcher` and resolves with the response once its headers arrive; the body is read
 * by iterating it. `classify` turns transport failures (and the abort reason of `signal`) into LlmuxErrors.
 */
export function sendUpstream(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: CancelSignal,
  classify: (err: unknown) => LlmuxError,
): Promise<UpstreamResponse> {
  if (signal.aborted) return Promise.reject(classify(asError(signal.reason)));
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(options, new UpstreamExchange(signal, classify, { resolve, reject }));
  });
}
