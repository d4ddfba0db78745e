/**
 * Formats rows as a plain-text table: a header row, columns padded to their widest cell and separated by two
 * spaces, no trailing spaces. Plain text (no box drawing, no colour) so the output greps and diffs cleanly.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return all
    .map((row) => headers.map((_, i) => (row[i] ?? "").padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n");
}
