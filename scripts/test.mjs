#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node's built-in test runner.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = join(process.cwd(), 'dist', 'test');
if (!existsSync(dir)) {
  console.error('no compiled tests: run `npm run build:ts` first');
  process.exit(1);
}
const files = readdirSync(dir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => process.argv.length <= 2 || process.argv.slice(2).some((p) => f.includes(p)))
  .sort()
  .map((f) => join(dir, f));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
