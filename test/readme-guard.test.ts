// README guard: every `flm …` command line in README.md and docs/ names commands and options that exist
// in the CLI's own definitions (program()), so the documentation and --help cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { program } from '../src/cli/main.js';
import { checkCommandLine, commandLines } from './command-lines.js';
import { FINETUNE_TASKS } from '../src/tasks/registry.js';

function docs(): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.md')) files.push(join(dir, e.name));
    }
  };
  walk('docs');
  return files;
}

test('README.md and docs/: every flm command and option named exists in the CLI', () => {
  const root = program();
  const problems: string[] = [];
  let checked = 0;
  for (const file of docs()) {
    for (const { line, text } of commandLines(readFileSync(file, 'utf8'))) {
      checked++;
      for (const p of checkCommandLine(root, text)) problems.push(`${file}:${line}: ${p}  [${text}]`);
    }
  }
  assert.ok(checked >= 30, `only ${checked} command lines found: the extractor is broken`);
  assert.deepEqual(problems, []);
});

test('the guard itself catches a made-up option, a made-up command and a made-up task', () => {
  const root = program();
  const md = [
    '```sh',
    'flm pretrain --objective flm --made-up-option 3   # comment --not-checked',
    'flm launch --nproc 2 -- pretrain --bogus',
    '```',
    'Run `flm finetune retrieval|vqa|wizardry --from runs/flm` or `flm frobnicate`.',
  ].join('\n');
  const found = commandLines(md).flatMap((l) => checkCommandLine(root, l.text));
  assert.deepEqual(found, [
    "'pretrain' has no option --made-up-option",
    "'pretrain' has no option --bogus",
    "unknown command 'retrieval|vqa|wizardry' under 'finetune'",
    "unknown command 'frobnicate' under 'flm'",
  ]);
  assert.deepEqual(checkCommandLine(root, 'flm finetune caption --from runs/flm --eval-every 50 --nproc 2 --json'), []);
  assert.deepEqual(checkCommandLine(root, 'flm finetune <task> --from runs/flm --eval-every 50'), []);
  const without = FINETUNE_TASKS.filter((t) => !('negatives' in t.spec.settings)).map((t) => `'${t.spec.name}' has no option --negatives`);
  assert.ok(without.length > 0);
  assert.deepEqual(checkCommandLine(root, 'flm finetune <task> --negatives 3'), without);
});
