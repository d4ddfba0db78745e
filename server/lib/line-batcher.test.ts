import { describe, expect, it } from "vitest";
import { createLineBatcher, type BatchSink } from "./line-batcher.js";

function recordingSink() {
  const calls: string[] = [];
  const sink: BatchSink = {
    write: (text) => (calls.push(`write:${text}`), true),
    flush: () => void calls.push("flush"),
    flushSync: () => void calls.push("flushSync"),
  };
  return { sink, calls };
}

describe("createLineBatcher", () => {
  it("hands lines over as one string once the batch reaches its length, in order", () => {
    const { sink, calls } = recordingSink();
    const lines = createLineBatcher(sink, 10);
    lines.write("abc\n");
    lines.write("def\n");
    expect(calls).toEqual([]);
    lines.write("ghi\n");
    lines.write("j\n");
    expect(calls).toEqual(["write:abc\ndef\nghi\n"]);
  });

  it("flush hands over what is pending, then flushes the sink; with nothing pending only the sink is flushed", () => {
    const { sink, calls } = recordingSink();
    const lines = createLineBatcher(sink, 100);
    lines.write("one\n");
    lines.flush();
    lines.flush();
    expect(calls).toEqual(["write:one\n", "flush", "flush"]);
  });

  it("flushSync hands over what is pending and writes synchronously (the exit path)", () => {
    const { sink, calls } = recordingSink();
    const lines = createLineBatcher(sink, 100);
    lines.write("a\n");
    lines.write("b\n");
    lines.flushSync();
    expect(calls).toEqual(["write:a\nb\n", "flushSync"]);
  });

  it("a single line longer than the batch is handed over alone, as it is", () => {
    const { sink, calls } = recordingSink();
    const lines = createLineBatcher(sink, 4);
    const long = "x".repeat(50);
    lines.write(long);
    expect(calls).toEqual([`write:${long}`]);
  });
});
