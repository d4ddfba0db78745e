import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { PromptCanceled, promptHidden, secretLines, type TerminalInput } from "./secret-input.js";
import { UsageError } from "./usage-error.js";

/** A terminal that types `keys`, chunk by chunk, once the prompt listens; records raw mode and what was echoed. */
function terminal(...keys: string[]) {
  const events = new EventEmitter();
  const raw: boolean[] = [];
  let written = "";
  const input: TerminalInput = {
    isTTY: true,
    setRawMode: (mode) => raw.push(mode),
    setEncoding: () => undefined,
    on: (_event, listener) => {
      events.on("data", listener);
      queueMicrotask(() => keys.forEach((k) => events.emit("data", k)));
    },
    off: (_event, listener) => events.off("data", listener),
    resume: () => undefined,
    pause: () => undefined,
  };
  const output = { write: (text: string) => (written += text) };
  return { input, output, raw, written: () => written, listeners: () => events.listenerCount("data") };
}

describe("promptHidden", () => {
  it.each([
    ["Enter ends", ["s3cret\r"], "s3cret"],
    ["a newline ends", ["s3", "cret\n"], "s3cret"],
    ["Backspace edits", ["s3x\u007fcret\r"], "s3cret"],
    ["control characters are ignored", ["s3\u001bcret\r"], "s3cret"],
  ])("%s", async (_title, keys, value) => {
    const t = terminal(...keys);
    expect(await promptHidden("Password: ", t.input, t.output)).toBe(value);
    // Nothing typed is echoed, raw mode is restored and the listener removed.
    expect(t.written()).toBe("Password: \n");
    expect(t.raw).toEqual([true, false]);
    expect(t.listeners()).toBe(0);
  });

  it.each([
    ["Ctrl-C", "ab\u0003"],
    ["Ctrl-D on an empty line", "\u0004"],
  ])("%s cancels", async (_title, keys) => {
    const t = terminal(keys);
    await expect(promptHidden("Password: ", t.input, t.output)).rejects.toThrow(PromptCanceled);
    expect(t.raw).toEqual([true, false]);
  });
});

describe("secretLines", () => {
  it.each([
    ["one line with a newline", "pw\n", ["password"], ["pw"]],
    ["one line without", "pw", ["password"], ["pw"]],
    ["CRLF", "old\r\nnew\r\n", ["current password", "new password"], ["old", "new"]],
    ["spaces are part of a password", " p w \n", ["password"], [" p w "]],
  ])("%s", (_title, text, names, values) => {
    expect(secretLines(text, names)).toEqual(values);
  });

  it.each([
    ["", ["password"], "stdin has no password on line 1"],
    ["old\n", ["current password", "new password"], "stdin has no new password on line 2"],
    ["\nnew\n", ["current password", "new password"], "stdin has no current password on line 1"],
  ])("%j for %j", (text, names, message) => {
    expect(() => secretLines(text, names)).toThrow(new UsageError(message));
  });
});
