#!/usr/bin/env node
// The flm command line. The TypeScript sources compile to dist/ on `npm install` (prepare script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error('flm: not built yet. Run `npm install` (or `npm run build`) in the flm folder first.');
  process.exit(1);
}
const { run } = await import(main);
process.exitCode = await run(process.argv);
