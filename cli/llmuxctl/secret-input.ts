import { UsageError } from "./usage-error.js";

/** The input side of a terminal, as much of it as a hidden prompt needs (tests pass a fake). */
export interface TerminalInput {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: "data", listener: (chunk: string) => void): unknown;
  off(event: "data", listener: (chunk: string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** Thrown when the user ends a prompt with Ctrl-C or Ctrl-D; the command exits without calling anything. */
export class PromptCanceled extends Error {
  override readonly name = "PromptCanceled";
}

/**
 * Asks for a secret on a terminal without echoing it: the prompt goes to `output` (stderr, so stdout stays
 * clean for scripts), keys are read in raw mode, Backspace edits, Enter ends, Ctrl-C or Ctrl-D cancels.
 */
export function promptHidden(question: string, input: TerminalInput, output: { write(text: string): unknown }): Promise<string> {
  output.write(question);
  input.setRawMode?.(true);
  input.setEncoding("utf8");
  input.resume();
  let value = "";
  return new Promise((resolve, reject) => {
    const finish = (error?: Error) => {
      input.off("data", onData);
      input.setRawMode?.(false);
      input.pause();
      output.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003" || (ch === "\u0004" && value === "")) return finish(new PromptCanceled("canceled"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    input.on("data", onData);
  });
}

/** Reads all of a piped stdin as text. */
export async function readAll(input: AsyncIterable<string | Buffer>): Promise<string> {
  let text = "";
  for await (const chunk of input) text += typeof chunk === "string" ? chunk : chunk.toString("utf8");
  return text;
}

/**
 * Splits piped stdin into the secrets a command needs, named by `names`, one per line (a final newline is
 * optional, a Windows CR is dropped). Fewer lines, or an empty one, is a usage error naming what is missing.
 */
export function secretLines(text: string, names: readonly string[]): string[] {
  const lines = text.split("\n").map((line) => line.replace(/\r$/, ""));
  return names.map((name, i) => {
    const line = lines[i];
    if (line === undefined || line === "") throw new UsageError(`stdin has no ${name} on line ${i + 1}`);
    return line;
  });
}

/** Where secrets come from: a terminal to prompt on, or piped stdin (`--password-stdin` and friends). */
export interface SecretSource {
  /** The secrets named in `names`, in order: prompted one by one, or one per line of stdin. */
  read(names: readonly string[], flag: string): Promise<string[]>;
}

/**
 * The secret source of this process. With `fromStdin` (the command's `--…-stdin` flag) the secrets are lines of
 * stdin; otherwise llmuxctl prompts when stdin is a terminal, and refuses (rather than hang or read a script's
 * input by surprise) when it is not. A new password asked on a terminal is asked twice.
 */
export function processSecrets(fromStdin: boolean): SecretSource {
  return {
    async read(names, flag) {
      if (fromStdin) return secretLines(await readAll(process.stdin), names);
      const stdin = process.stdin as unknown as TerminalInput;
      if (!stdin.isTTY) throw new UsageError(`stdin is not a terminal to ask for the ${names.join(" and ")} on: pipe ${names.length > 1 ? "them, one per line," : "it"} and pass ${flag}`);
      const values: string[] = [];
      for (const name of names) {
        const value = await promptHidden(`${name[0]!.toUpperCase()}${name.slice(1)}: `, stdin, process.stderr);
        if (name.startsWith("new ")) {
          const again = await promptHidden(`Repeat the ${name}: `, stdin, process.stderr);
          if (again !== value) throw new UsageError(`the two ${name}s differ`);
        }
        values.push(value);
      }
      return values;
    },
  };
}
