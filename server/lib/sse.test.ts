import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SseEvent } from "./sse.js";
import { createSseParser, formatSse } from "./sse.js";

interface Fixture {
  name: string;
  /** The body: text (encoded as UTF-8) or raw bytes. */
  input: string | Uint8Array;
  events: SseEvent[];
  hasPartial: boolean;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...utf8(p)] : p)));
const ev = (data: string, event?: string): SseEvent => ({ event, data });

const FIXTURES: Fixture[] = [
  { name: "one event", input: "data: hello\n\n", events: [ev("hello")], hasPartial: false },
  { name: "named event", input: "event: ping\ndata: {}\n\n", events: [ev("{}", "ping")], hasPartial: false },
  {
    name: "multi-line data, empty last line",
    input: "data: a\ndata: b\ndata:\n\n",
    events: [ev("a\nb\n")],
    hasPartial: false,
  },
  {
    name: "CRLF line ends",
    input: "event: x\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
    events: [ev("a\nb", "x"), ev("c")],
    hasPartial: false,
  },
  { name: "CR line ends", input: "data: a\rdata: b\r\rdata: c\r\r", events: [ev("a\nb"), ev("c")], hasPartial: false },
  {
    name: "mixed line ends",
    input: "data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\n\n",
    events: [ev("a\nb\nc"), ev("d")],
    hasPartial: false,
  },
  {
    name: "comments are ignored, a comment-only block dispatches nothing",
    input: ": ping\n\ndata: x\n: inner\n\n:\n\n",
    events: [ev("x")],
    hasPartial: false,
  },
  {
    name: "only one leading space is stripped",
    input: "data:x\ndata:  y\ndata: \n\n",
    events: [ev("x\n y\n")],
    hasPartial: false,
  },
  { name: "colon inside the value", input: 'data: {"a":"b:c"}\n\n', events: [ev('{"a":"b:c"}')], hasPartial: false },
  { name: "field without colon: empty data", input: "data\n\n", events: [ev("")], hasPartial: false },
  { name: "field without colon: empty event", input: "event\ndata: x\n\n", events: [ev("x")], hasPartial: false },
  { name: "empty event field reads as absent", input: "event:\ndata: x\n\n", events: [ev("x")], hasPartial: false },
  {
    name: "id, retry and unknown fields are ignored",
    input: "id: 1\nretry: 100\nfoo: bar\nDATA: no\ndata: x\n\n",
    events: [ev("x")],
    hasPartial: false,
  },
  {
    name: "an event without data is not dispatched and its name does not leak",
    input: "event: x\n\ndata: y\n\n",
    events: [ev("y")],
    hasPartial: false,
  },
  { name: "leading blank lines", input: "\n\r\n\rdata: x\n\n", events: [ev("x")], hasPartial: false },
  { name: "leading BOM is dropped", input: "\uFEFFdata: x\n\n", events: [ev("x")], hasPartial: false },
  {
    name: "only the first BOM is dropped",
    input: "\uFEFF\uFEFFdata: x\n\ndata: y\n\n",
    events: [ev("y")],
    hasPartial: false,
  },
  {
    name: "multi-byte characters",
    input: "event: ünïcode\ndata: héllo 🙂 wörld\ndata: 日本語\n\n",
    events: [ev("héllo 🙂 wörld\n日本語", "ünïcode")],
    hasPartial: false,
  },
  {
    name: "invalid UTF-8 becomes U+FFFD",
    input: bytes("data: a", [0xff], "b\n\n"),
    events: [ev("a\uFFFDb")],
    hasPartial: false,
  },
  {
    name: "OpenAI stream",
    input:
      'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hé"}}]}\n\n' +
      ": keep-alive\n\n" +
      'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n' +
      "data: [DONE]\n\n",
    events: [
      ev('{"id":"c","choices":[{"index":0,"delta":{"content":"Hé"}}]}'),
      ev('{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'),
      ev("[DONE]"),
    ],
    hasPartial: false,
  },
  {
    name: "Anthropic stream",
    input:
      'event: message_start\ndata: {"type":"message_start"}\n\n' +
      'event: ping\ndata: {"type": "ping"}\n\n' +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    events: [
      ev('{"type":"message_start"}', "message_start"),
      ev('{"type": "ping"}', "ping"),
      ev('{"type":"message_stop"}', "message_stop"),
    ],
    hasPartial: false,
  },
  { name: "trailing comment is not a partial event", input: "data: a\n\n: bye\n", events: [ev("a")], hasPartial: false },
  { name: "empty body", input: "", events: [], hasPartial: false },
  { name: "truncated: no blank line", input: "data: a\n\ndata: b\n", events: [ev("a")], hasPartial: true },
  { name: "truncated: unterminated line", input: "data: a\n\ndata: b", events: [ev("a")], hasPartial: true },
  { name: "truncated: event field only", input: "data: a\n\nevent: x\n", events: [ev("a")], hasPartial: true },
  { name: "truncated: unterminated comment", input: "data: a\n\n: bye", events: [ev("a")], hasPartial: true },
  {
    name: "truncated: inside a multi-byte character",
    input: utf8("data: a\n\ndata: 🙂").subarray(0, -2),
    events: [ev("a")],
    hasPartial: true,
  },
];

interface Outcome {
  events: SseEvent[];
  hasPartial: boolean;
}

/** Parses `input` delivered as the given pieces. */
function parse(pieces: Uint8Array[]): Outcome {
  const parser = createSseParser();
  const events = pieces.flatMap((p) => parser.push(p));
  events.push(...parser.end());
  return { events, hasPartial: parser.hasPartial };
}

const inputBytes = (f: Fixture): Uint8Array => (typeof f.input === "string" ? utf8(f.input) : f.input);

describe("createSseParser", () => {
  describe.each(FIXTURES)("$name", (f) => {
    const body = inputBytes(f);
    const expected: Outcome = { events: f.events, hasPartial: f.hasPartial };

    it("whole body in one chunk", () => {
      expect(parse([body])).toEqual(expected);
    });

    it("one byte at a time", () => {
      expect(parse(Array.from(body, (_, i) => body.subarray(i, i + 1)))).toEqual(expected);
    });

    it("split in two at every byte offset", () => {
      for (let i = 0; i <= body.length; i++) {
        expect(parse([body.subarray(0, i), body.subarray(i)]), `split at ${i}`).toEqual(expected);
      }
    });

    it("any chunking (property)", () => {
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({ min: 0, max: body.length }), { maxLength: 8 }), (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), body.length];
          const pieces = points.slice(1).map((end, i) => body.subarray(points[i], end));
          expect(parse(pieces)).toEqual(expected);
        }),
        { numRuns: 50 },
      );
    });
  });

  it("returns an event from the push that completes it, not later", () => {
    const parser = createSseParser();
    expect(parser.push(utf8("data: a\n"))).toEqual([]);
    expect(parser.hasPartial).toBe(true);
    expect(parser.push(utf8("\ndata: b\n\nda"))).toEqual([ev("a"), ev("b")]);
    expect(parser.hasPartial).toBe(true);
    expect(parser.push(utf8("ta: c\n\n"))).toEqual([ev("c")]);
    expect(parser.hasPartial).toBe(false);
    expect(parser.end()).toEqual([]);
  });

  it("treats CR at a chunk end followed by LF in the next chunk as one line end", () => {
    const parser = createSseParser();
    expect(parser.push(utf8("data: a\r"))).toEqual([]);
    expect(parser.push(utf8("\n\r"))).toEqual([ev("a")]);
    expect(parser.push(utf8("\ndata: b\r\r"))).toEqual([ev("b")]);
  });

  it("keeps a long line spread over many chunks intact", () => {
    const value = "x".repeat(100_000);
    const body = utf8(`data: ${value}\n\n`);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < body.length; i += 1000) pieces.push(body.subarray(i, i + 1000));
    expect(parse(pieces)).toEqual({ events: [ev(value)], hasPartial: false });
  });
});

describe("formatSse", () => {
  it.each([
    { data: "x", event: undefined, out: "data: x\n\n" },
    { data: '{"a":1}', event: "ping", out: 'event: ping\ndata: {"a":1}\n\n' },
    { data: "", event: undefined, out: "data: \n\n" },
    { data: " lead", event: undefined, out: "data:  lead\n\n" },
    { data: "a\nb", event: undefined, out: "data: a\ndata: b\n\n" },
    { data: "a\r\nb\rc\n", event: "e", out: "event: e\ndata: a\ndata: b\ndata: c\ndata: \n\n" },
  ])("formatSse($data, $event)", ({ data, event, out }) => {
    expect(formatSse(data, event)).toBe(out);
  });

  it.each(["x", "", " lead", "a\nb", "a\r\nb\rc\n", "é🙂\n\n"])("round-trips %j through the parser", (data) => {
    const expected = data.replace(/\r\n|\r/g, "\n");
    expect(parse([utf8(formatSse(data, "e"))])).toEqual({ events: [ev(expected, "e")], hasPartial: false });
  });
});
