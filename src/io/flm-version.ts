// flm's version, read from its package.json at run time (the one source of truth; nothing to keep in sync).
// In io/ so that exports (ONNX producer_version) can stamp it; the CLI re-exports it (cli/version.ts).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `version` of the nearest package.json named "flm" above this file (dist/src/io/ when built,
 * src/io/ when run from source).
 */
export function flmVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'flm' && typeof pkg.version === 'string') return pkg.version;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('flm: cannot find flm\'s package.json to read its version');
    dir = up;
  }
}
