/**
 * Measurements of parsed JSON. `JSON.parse` accepts nesting far deeper than `JSON.stringify` (which recurses) can
 * write back: a 100 000-deep array parses fine and then overflows the stack when serialised. These walks are safe on
 * any parsed value and linear in its size: they use an explicit stack, or (the depth check) recurse no deeper than
 * their limit.
 */

/**
 * Deepest nesting of arrays/objects llmux accepts in JSON it will serialise again: a client's body, JSON text the
 * client sends inside it (tool-call arguments), and whatever of an upstream's answer it writes anew (tool inputs,
 * repaired chunks). `JSON.stringify` overflows the stack a few thousand levels down; no real schema, tool input or
 * answer comes near 256.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * The path (keys and indexes) to the first value nested deeper than `maxDepth` levels of arrays/objects inside
 * `value`, or undefined when there is none. Lets the validator reject such bodies with a 400 before anything
 * tries to serialise them.
 */
export function findTooDeep(value: unknown, maxDepth: number): Array<string | number> | undefined {
  // Every request body is checked, and nearly all pass: the check allocates nothing; the path is worked out only
  // for a body that fails.
  return exceedsDepth(value, maxDepth) ? pathTo(value, (v, depth) => depth >= maxDepth && typeof v === "object" && v !== null) : undefined;
}

/** The deepest limit {@link exceedsDepth} takes: it recurses as deep as its limit, and that many frames are safe. */
const MAX_DEPTH_LIMIT = 1024;

/**
 * True when `value` nests arrays/objects more than `maxDepth` levels deep (a scalar has depth 0, `{}` depth 1).
 * Allocates nothing: it recurses, at most `maxDepth` frames deep however deep the value, so a limit beyond
 * {@link MAX_DEPTH_LIMIT} is refused (RangeError). Suits the checks on JSON parsed inside a request or an answer,
 * where the caller names the field and the path inside it does not matter.
 */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  if (maxDepth > MAX_DEPTH_LIMIT) throw new RangeError(`exceedsDepth: limit ${maxDepth} is above ${MAX_DEPTH_LIMIT}`);
  if (typeof value !== "object" || value === null) return false;
  if (maxDepth <= 0) return true;
  return nestsDeeper(value, maxDepth - 1);
}

/** True when `container` holds an array/object more than `levels` levels below its own children. */
function nestsDeeper(container: object, levels: number): boolean {
  if (Array.isArray(container)) {
    for (const item of container) {
      if (typeof item === "object" && item !== null && (levels === 0 || nestsDeeper(item, levels - 1))) return true;
    }
    return false;
  }
  for (const key in container) {
    const item = (container as Record<string, unknown>)[key];
    if (typeof item === "object" && item !== null && (levels === 0 || nestsDeeper(item, levels - 1))) return true;
  }
  return false;
}

/**
 * The path (keys and indexes) to the first value, in document order, for which `found(value, depth)` holds, or
 * undefined. Iterative, so it is safe on values nested deeper than any check has yet allowed; it allocates a frame
 * per value, so callers run it only to name the field of a value a cheaper walk has already refused.
 */
export function pathTo(value: unknown, found: (value: unknown, depth: number) => boolean): Array<string | number> | undefined {
  interface Frame {
    value: unknown;
    depth: number;
    key: string | number;
    parent: Frame | undefined;
  }
  const stack: Frame[] = [{ value, depth: 0, key: "", parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (found(v, frame.depth)) {
      const path: Array<string | number> = [];
      for (let f: Frame | undefined = frame; f?.parent !== undefined; f = f.parent) path.push(f.key);
      return path.reverse();
    }
    if (typeof v !== "object" || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth: frame.depth + 1, key: i, parent: frame });
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        stack.push({ value: (v as Record<string, unknown>)[k], depth: frame.depth + 1, key: k, parent: frame });
      }
    }
  }
  return undefined;
}

/** Characters JSON.stringify escapes (controls, quote, backslash) and surrogates (escaped when unpaired). */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** The length of `JSON.stringify(text)`, without building it when nothing in `text` is escaped (the usual case). */
function quotedLength(text: string): number {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text).length : text.length + 2;
}

/**
 * The length `JSON.stringify(value)` would have, computed without recursion (keys and strings are measured one by
 * one, which does not recurse). Used for token estimates of tool inputs and schemas.
 */
export function jsonTextLength(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    switch (typeof v) {
      case "string":
        total += quotedLength(v);
        break;
      case "number":
        total += Number.isFinite(v) ? String(v).length : 4;
        break;
      case "boolean":
        total += v ? 4 : 5;
        break;
      case "object":
        if (v === null) {
          total += 4;
        } else if (Array.isArray(v)) {
          // Brackets and commas; undefined/function items are written as null, close enough for an estimate.
          total += 2 + Math.max(0, v.length - 1);
          for (const item of v) stack.push(item);
        } else {
          const keys = Object.keys(v);
          let written = 0;
          for (const k of keys) {
            const item = (v as Record<string, unknown>)[k];
            if (item === undefined || typeof item === "function") continue;
            total += quotedLength(k) + 1;
            written++;
            stack.push(item);
          }
          total += 2 + Math.max(0, written - 1);
        }
        break;
    }
  }
  return total;
}
