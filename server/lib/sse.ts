/** An SSE event as parsed from the wire. */
export interface SseEvent {
  /** The `event:` field, undefined when absent. */
  event: string | undefined;
  /** The `data:` lines joined with "\n". */
  data: string;
}

/**
 * An incremental Server-Sent Events parser for one response body. Feed it the body's byte chunks as they arrive,
 * however the network split them; it returns each event once its terminating blank line has been seen.
 */
export interface SseParser {
  /** Parses one more chunk of the body and returns the events it completed, in order. */
  push(chunk: Uint8Array): SseEvent[];
  /**
   * Signals the end of the body. Returns the events still to dispatch (only ones closed by a blank line; an event
   * cut off by the end of the body is dropped, as the EventSource rules require). Call once, after the last push.
   */
  end(): SseEvent[];
  /**
   * True when the input ends inside an event: an unterminated line, or field lines not yet closed by a blank line.
   * Callers check it after `end()` to tell a truncated stream from a clean one. Before `end()` it cannot see the
   * bytes of an incomplete UTF-8 character still held by the decoder.
   */
  readonly hasPartial: boolean;
}

const LF = 0x0a;
const SPACE = 0x20;
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * The parser state. Decoding runs once per chunk (TextDecoder in streaming mode keeps a split multi-byte
 * character for the next chunk, and drops a leading BOM); line breaks are then found with `indexOf` on the decoded
 * text. That is safe because CR and LF never occur inside a UTF-8 multi-byte sequence.
 */
class Parser implements SseParser {
  readonly #decoder = new TextDecoder("utf-8");
  /** Text of the current line received so far (no line break seen yet). */
  #line = "";
  /** The previous chunk ended with CR: an LF starting the next chunk belongs to that line break. */
  #skipLf = false;
  /** The `data` lines of the current event, joined with "\n". */
  #data = "";
  /** At least one `data` line was seen in the current event (an empty `data:` line still counts). */
  #hasData = false;
  /** The `event` field of the current event; "" means none. */
  #event = "";
  /** A field line (any but a comment) was seen since the last blank line. */
  #inEvent = false;

  get hasPartial(): boolean {
    return this.#line.length > 0 || this.#inEvent;
  }

  push(chunk: Uint8Array): SseEvent[] {
    return this.#feed(this.#decoder.decode(chunk, { stream: true }));
  }

  end(): SseEvent[] {
    // Flushing turns an incomplete trailing character into U+FFFD, which then counts as an unterminated line.
    const events = this.#feed(this.#decoder.decode());
    this.#skipLf = false;
    return events;
  }

  #feed(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let pos = 0;
    if (this.#skipLf && text.length > 0) {
      this.#skipLf = false;
      if (text.charCodeAt(0) === LF) pos = 1;
    }
    // Next CR and LF at or after `pos`; each is searched again only once passed, so a chunk is scanned in O(n).
    let cr = text.indexOf("\r", pos);
    let lf = text.indexOf("\n", pos);
    while (cr !== -1 || lf !== -1) {
      const lineStart = pos;
      let lineEnd: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        lineEnd = lf;
        pos = lf + 1;
        lf = text.indexOf("\n", pos);
      } else {
        lineEnd = cr;
        pos = cr + 1;
        if (pos === text.length) {
          this.#skipLf = true;
        } else if (text.charCodeAt(pos) === LF) {
          pos += 1;
          lf = text.indexOf("\n", pos);
        }
        cr = text.indexOf("\r", pos);
      }
      let line = text.slice(lineStart, lineEnd);
      if (this.#line.length > 0) {
        line = this.#line + line;
        this.#line = "";
      }
      this.#processLine(line, events);
    }
    // The rest has no line break yet; string concatenation keeps this O(1) per chunk for a long line.
    if (pos < text.length) this.#line += pos === 0 ? text : text.slice(pos);
    return events;
  }

  #processLine(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      if (this.#hasData) events.push({ event: this.#event === "" ? undefined : this.#event, data: this.#data });
      this.#data = "";
      this.#hasData = false;
      this.#event = "";
      this.#inEvent = false;
      return;
    }
    const colon = line.indexOf(":");
    if (colon === 0) return; // a comment
    this.#inEvent = true;
    const nameEnd = colon === -1 ? line.length : colon;
    let valueStart = colon === -1 ? line.length : colon + 1;
    if (line.charCodeAt(valueStart) === SPACE) valueStart += 1;
    if (nameEnd === 4 && line.startsWith("data")) {
      const value = line.slice(valueStart);
      if (this.#hasData) {
        this.#data += "\n" + value;
      } else {
        this.#data = value;
        this.#hasData = true;
      }
    } else if (nameEnd === 5 && line.startsWith("event")) {
      this.#event = line.slice(valueStart);
    }
    // `id`, `retry` and unknown fields are ignored: llmux neither reconnects nor resumes upstream streams.
  }
}

/**
 * Creates a parser for one SSE body, following the WHATWG EventSource parsing rules
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation): lines end in LF,
 * CRLF or CR (also when CR and LF arrive in different chunks); a blank line dispatches; `:` lines are comments;
 * one space after the colon is stripped; `data` lines join with "\n"; an event without `data` lines is not
 * dispatched; an empty `event` field reads as absent; a leading BOM is dropped. Byte-safe: a chunk boundary
 * anywhere, even inside a multi-byte character, gives the same events as the whole body at once.
 */
export function createSseParser(): SseParser {
  return new Parser();
}

/**
 * Formats one SSE event as `event: NAME\n` (when given) plus one `data: ` line per line of `data`, then a blank
 * line. Any line break in `data` (LF, CRLF or CR) starts a new `data:` line, so the parser gives back `data` with
 * line breaks normalised to LF. `event` is a name chosen by llmux and must not contain line breaks.
 */
export function formatSse(data: string, event?: string): string {
  const head = event === undefined ? "data: " : `event: ${event}\ndata: `;
  // JSON payloads (the common case) never contain raw line breaks.
  if (data.indexOf("\n") === -1 && data.indexOf("\r") === -1) return head + data + "\n\n";
  return head + data.split(LINE_BREAK).join("\ndata: ") + "\n\n";
}
