// native/ops.def is the one list of native ops: the generated TypeScript must match it, and the built
// addon must export exactly its entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { native } from '../src/native/binding.js';

interface Generator {
  tablePath: string;
  outPath: string;
  parseTable(text: string): ({ section: string } | { name: string; fn: string; signature: string })[];
  generate(): string;
}
// A plain .mjs script (no types of its own), loaded by path.
const gen = (await import(pathToFileURL(join(process.cwd(), 'scripts', 'gen-binding.mjs')).href)) as Generator;
const names = gen
  .parseTable(readFileSync(gen.tablePath, 'utf8'))
  .flatMap((it) => ('name' in it ? [it.name] : []));

test('src/native/binding.gen.ts is what scripts/gen-binding.mjs makes of native/ops.def', () => {
  assert.equal(readFileSync(gen.outPath, 'utf8'), gen.generate(), 'stale: run `node scripts/gen-binding.mjs`');
});

test('the addon exports every op of native/ops.def, and nothing else', () => {
  assert.ok(names.length > 200, `only ${names.length} ops parsed from native/ops.def`);
  const exported = Object.keys(native);
  const table = new Set(names);
  assert.deepEqual(exported.filter((k) => !table.has(k)), [], 'exported by the addon but not in native/ops.def');
  assert.deepEqual(names.filter((k) => !exported.includes(k)), [], 'in native/ops.def but not exported by the addon');
  for (const k of exported) assert.equal(typeof (native as unknown as Record<string, unknown>)[k], 'function', k);
});

test('the table rejects lines it cannot read and duplicate names', () => {
  assert.throws(() => gen.parseTable('FLM_OP_DEF(a, A, "(): void")\nFLM_OP_DEF(b B "(): void")'), /ops\.def:2: expected/);
  assert.throws(() => gen.parseTable('FLM_OP_DEF(a, A, "(): void")\nFLM_OP_DEF(a, B, "(): void")'), /a is listed twice/);
});
