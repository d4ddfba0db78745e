/**
 * C0 controls, DEL and C1 controls. Names and ids that end up in log lines, headers, metric labels or a terminal
 * (model names, provider and key names, discovered model ids) must hold none: a CR/LF could split a log line or a
 * header, an escape sequence could rewrite what an operator sees.
 */
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** True when `value` contains a control character (see above). */
export function hasControlChars(value: string): boolean {
  return CONTROL_CHARS.test(value);
}
