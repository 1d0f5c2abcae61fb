// `flm …` command lines in markdown and their check against the CLI's own definitions (program()):
// used by the README guard and by the model-card test of `flm export`.
import type { Command } from 'commander';

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
