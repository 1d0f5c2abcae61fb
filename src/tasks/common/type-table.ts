// The terminal tables of per-type scores that `flm eval` prints (VQA per question and answer type, NLVR2
// per statement form and type): one block per grouping, the type names padded to the widest.

/** Lines for the groupings that have rows, blocks separated by a blank line; `header` and `cells` follow the name column. */
export function formatTypeTables<T>(groupings: ReadonlyArray<readonly [string, Record<string, T>]>, header: string, cells: (v: T) => string): string[] {
  const lines: string[] = [];
  for (const [title, groups] of groupings) {
    const rows = Object.entries(groups);
    if (rows.length === 0) continue;
    const width = Math.max(title.length, ...rows.map(([k]) => k.length));
    if (lines.length) lines.push('');
    lines.push(`${title.padEnd(width)}${header}`);
    for (const [k, v] of rows) lines.push(`${k.padEnd(width)}${cells(v)}`);
  }
  return lines;
}
