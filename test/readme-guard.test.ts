// README guard: every `flm …` command line in README.md and docs/ names commands and options that exist
// in the CLI's own definitions (program()), so the documentation and --help cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { program } from '../src/cli/main.js';
import { FINETUNE_TASKS } from '../src/tasks/registry.js';

/** `flm …` command lines of a markdown text: lines of code blocks and inline code spans. */
export function commandLines(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let inCode = false;
  markdown.split('\n').forEach((raw, i) => {
    if (/^\s*```/.test(raw)) {
      inCode = !inCode;
      return;
    }
    const candidates = inCode ? [raw.replace(/#.*$/, '')] : [...raw.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const c of candidates) {
      const m = /^\s*(?:\$\s+)?(?:npx\s+)?(flm\s.*)$/.exec(c.replace(/\\\|/g, '|'));
      if (m) out.push({ line: i + 1, text: m[1]!.replace(/&&.*$/, '').trim() });
    }
  });
  return out;
}

const BUILT_IN = new Set(['--help', '-h', '--version', '-V']);

function optionExists(cmd: Command, flag: string): boolean {
  return BUILT_IN.has(flag) || cmd.options.some((o) => o.long === flag || o.short === flag);
}

/** Problems of one command line: unknown subcommands and options. */
export function checkCommandLine(root: Command, text: string): string[] {
  const tokens = text.split(/\s+/).filter(Boolean).slice(1); // after `flm`
  const problems: string[] = [];
  let cmd = root;
  let i = 0;
  // descend through subcommands; `a|b|c` lists alternatives, each of which must exist
  while (i < tokens.length && cmd.commands.length > 0 && !tokens[i]!.startsWith('-')) {
    if (/^<[a-z-]+>$/.test(tokens[i]!)) {
      // a placeholder (`flm finetune <task> ...`): the options must exist on every subcommand it stands for
      const rest = tokens.slice(i + 1);
      for (const sub of cmd.commands) problems.push(...checkOptions(sub, rest));
      return [...new Set(problems)];
    }
    const names = tokens[i]!.split('|');
    const found = names.map((n) => cmd.commands.find((c) => c.name() === n || c.aliases().includes(n)));
    if (found.some((f) => f === undefined)) {
      problems.push(`unknown command '${tokens[i]}' under '${cmd.name()}'`);
      return problems;
    }
    cmd = found[0]!;
    i++;
    for (const other of found.slice(1)) problems.push(...checkOptions(other!, tokens.slice(i)));
  }
  problems.push(...checkOptions(cmd, tokens.slice(i)));
  return problems;

  function checkOptions(c: Command, rest: string[]): string[] {
    const bad: string[] = [];
    for (let k = 0; k < rest.length; k++) {
      const t = rest[k]!;
      if (t === '--') {
        // `flm launch ... -- pretrain ...`: the rest is a command of its own when it names one
        const next = rest[k + 1];
        if (next && root.commands.some((x) => x.name() === next)) bad.push(...checkCommandLine(root, `flm ${rest.slice(k + 1).join(' ')}`));
        break;
      }
      if (!t.startsWith('-') || /^-\d/.test(t) || t === '-') continue;
      const flag = t.split('=')[0]!.replace(/[.,;:)]+$/, '');
      if (!optionExists(c, flag)) bad.push(`'${c.name()}' has no option ${flag}`);
    }
    return bad;
  }
}

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
