/** Shard and file lists: bash brace expansion (braces) and globs (tinyglobby). */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import braces from 'braces';
import { glob, isDynamicPattern } from 'tinyglobby';

/**
 * Expand `{000..015}` / `{a,b}` ranges, then globs (`*`, `?`, `[..]`). Brace-expanded names that do
 * not exist are kept when `keepMissing` (so a missing shard is reported, not silently dropped).
 */
export async function expandPaths(pattern: string, opts: { keepMissing?: boolean } = {}): Promise<string[]> {
  const expanded = braces.expand(pattern);
  const out: string[] = [];
  for (const p of expanded.length > 0 ? expanded : [pattern]) {
    if (isDynamicPattern(p)) {
      const found = await glob(p, { absolute: true, onlyFiles: true, expandDirectories: false });
      out.push(...found.sort());
    } else {
      const abs = resolve(p);
      if (opts.keepMissing === true) out.push(abs);
      else {
        try {
          await access(abs);
          out.push(abs);
        } catch {
          // dropped: the caller reports "no files" when nothing is left
        }
      }
    }
  }
  return [...new Set(out)];
}
