#!/usr/bin/env node
// The flm command line. The TypeScript sources compile to dist/ on `npm install` (prepare script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// sharp decodes images on libuv's pool (4 threads by default): size it to the machine first.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, (await import('node:os')).availableParallelism()));
const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error('flm: not built yet. Run `npm install` (or `npm run build`) in the flm folder first.');
  process.exit(1);
}
const { run } = await import(main);
process.exitCode = await run(process.argv);
