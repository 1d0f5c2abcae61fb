// `npm run fuzz`: random and targeted bad calls to every public tensor function (and the raw addon),
// plus crafted safetensors / torch.save / tar / image files through the loaders, in child processes.
// Each call ends as: returned, threw an Error (fine), crashed (the child died by a signal: a bug) or
// hung (no progress for --call-timeout ms: a bug). API errors are classed further: a TorchError naming
// the function called (the rule), a TorchError naming another function ("misnamed"), an error from the
// fuzzer's own callbacks passed through ("user-code", fine), or anything else (a TypeError...: a bug in
// the API's argument checks). A failing API call that leaves native tensors alive is counted as a leak. A crash or hang is replayed alone and, if it needs
// the calls before it, bisected to the shortest run of calls that still fails; a reproducer is printed.
//
//   node dist/fuzz/fuzz.js [--calls 20000] [--native-calls N] [--files N] [--seed S|random] [--batch 400]
//                          [--jobs 1] [--call-timeout 20000] [--mode api|native|files --only I[..J]]
// Exits 1 on any crash or hang.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerJob } from './worker.js';

export type Mode = WorkerJob['mode'];
export const MODES: readonly Mode[] = ['api', 'native', 'files'];

export interface Finding {
  mode: Mode;
  kind: 'crash' | 'hang';
  index: number;
  /** signal or exit status */
  how: string;
  /** the shortest failing run found: [index] when the call fails alone */
  repro: number[];
  description: string;
  stderr: string;
}

export interface FuzzOptions {
  seed: number;
  calls: Record<Mode, number>;
  batch?: number;
  jobs?: number;
  callTimeoutMs?: number;
  /** bytes of address space per child (ulimit -v), so that a huge allocation fails instead of swapping */
  memLimitKb?: number;
  log?: (s: string) => void;
}

export interface ModeCounts {
  calls: number; returned: number; errors: number; crashes: number; hangs: number;
  byError: Record<string, number>;
  functions: Set<string>;
  /** API errors that are not TorchErrors (user code aside), by "function class" */
  otherErrors: Map<string, number>;
  /** API TorchErrors naming another function than the one called, by "function op-named" */
  misnamed: Map<string, number>;
  /** failing API calls that left native tensors alive, by function */
  leaks: Map<string, number>;
  /** outcomes by function (the file kinds in files mode) */
  byFunction: Map<string, Map<string, number>>;
}

const bump = (m: Map<string, number>, k: string): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};
const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

export interface FuzzReport {
  seed: number;
  counts: Record<Mode, ModeCounts>;
  findings: Finding[];
  seconds: number;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

interface BatchResult {
  results: Map<number, { outcome: string; leak: boolean; name: string; detail: string }>;
  described: Map<number, string>;
  failure?: { kind: 'crash' | 'hang'; index: number; how: string; stderr: string };
  /** the worker itself failed (a fuzzer bug) */
  internal?: string;
}

function runBatch(job: WorkerJob, o: FuzzOptions): Promise<BatchResult> {
  return new Promise((resolve) => {
    const mem = o.memLimitKb ?? 6_000_000;
    const child = spawn('bash', ['-c', `ulimit -v ${mem} 2>/dev/null; exec "$0" "$@"`, process.execPath, WORKER, JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', UV_THREADPOOL_SIZE: '2' },
    });
    const res: BatchResult = { results: new Map(), described: new Map() };
    let started = -1;
    let buf = '';
    let stderr = '';
    let hung = false;
    let internal = '';
    const timeoutMs = o.callTimeoutMs ?? 20_000;
    let timer = setTimeout(onHang, timeoutMs);
    function onHang(): void {
      hung = true;
      child.kill('SIGKILL');
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      clearTimeout(timer);
      timer = setTimeout(onHang, timeoutMs);
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [tag, idx, ...rest] = line.split(' ');
        if (tag === 'S') started = Number(idx);
        else if (tag === 'R') {
          const [outcome, leak] = rest[0]!.split('!');
          res.results.set(Number(idx), { outcome: outcome!, leak: leak === 'leak', name: rest[1] ?? '?', detail: rest.slice(2).join(' ') });
        }
        else if (tag === 'D') res.described.set(Number(idx), rest.join(' '));
        else if (tag === 'X') internal = line.slice(2);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 20_000) stderr += d;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const inFlight = started >= 0 && !res.results.has(started) ? started : -1;
      if (hung) res.failure = { kind: 'hang', index: inFlight, how: `no progress for ${timeoutMs} ms`, stderr };
      else if (signal !== null || (code !== 0 && code !== 3)) res.failure = { kind: 'crash', index: inFlight, how: signal ?? `exit status ${code}`, stderr };
      else if (code === 3) res.internal = internal || stderr;
      resolve(res);
    });
  });
}

function describeRepro(mode: Mode, seed: number, repro: number[]): string {
  const only = repro.length === 1 ? `${repro[0]}` : `${repro[0]}..${repro[repro.length - 1]}`;
  return `node dist/fuzz/fuzz.js --mode ${mode} --seed ${seed} --only ${only}`;
}

/** Replays indices; true when the child fails the same way. */
async function fails(mode: Mode, seed: number, indices: number[], o: FuzzOptions): Promise<BatchResult | null> {
  const r = await runBatch({ mode, seed, from: 0, count: 0, indices, verbose: true }, o);
  return r.failure ? r : null;
}

async function bisect(mode: Mode, seed: number, from: number, index: number, o: FuzzOptions): Promise<{ repro: number[]; description: string }> {
  const alone = await fails(mode, seed, [index], o);
  if (alone) return { repro: [index], description: alone.described.get(index) ?? '' };
  // the call needs some of the calls before it: find the latest start that still fails
  let lo = from; // fails (the original batch)
  let hi = index; // does not fail alone
  let best: BatchResult | null = null;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const r = await fails(mode, seed, range(mid, index + 1), o);
    if (r) { lo = mid; best = r; } else hi = mid;
  }
  const b = best ?? (await fails(mode, seed, range(lo, index + 1), o));
  const repro = range(lo, index + 1);
  const description = b ? repro.map((i) => b.described.get(i) ?? `${i} ?`).slice(-6).join('\n      ') : 'did not reproduce when replayed (flaky)';
  return { repro, description };
}

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, k) => a + k);

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const t0 = Date.now();
  const log = o.log ?? ((): void => undefined);
  const batch = o.batch ?? 400;
  const counts = Object.fromEntries(MODES.map((m) => [m, {
    calls: 0, returned: 0, errors: 0, crashes: 0, hangs: 0, byError: {}, functions: new Set<string>(),
    otherErrors: new Map<string, number>(), misnamed: new Map<string, number>(), leaks: new Map<string, number>(),
    byFunction: new Map<string, Map<string, number>>(),
  }])) as Record<Mode, ModeCounts>;
  const findings: Finding[] = [];
  const queue: Array<{ mode: Mode; from: number; count: number }> = [];
  for (const m of MODES) for (let f = 0; f < o.calls[m]; f += batch) queue.push({ mode: m, from: f, count: Math.min(batch, o.calls[m] - f) });
  const total = queue.reduce((a, q) => a + q.count, 0);
  let done = 0;
  const internalErrors: string[] = [];
  const generatorErrors: string[] = [];

  async function worker(): Promise<void> {
    for (let q = queue.shift(); q; q = queue.shift()) {
      const r = await runBatch({ mode: q.mode, seed: o.seed, from: q.from, count: q.count }, o);
      const c = counts[q.mode];
      for (const [, v] of r.results) {
        if (v.outcome === 'generator') {
          generatorErrors.push(v.detail);
          continue;
        }
        c.calls++;
        c.functions.add(v.name.replace('+chain', ''));
        if (!c.byFunction.has(v.name)) c.byFunction.set(v.name, new Map());
        bump(c.byFunction.get(v.name)!, v.outcome);
        if (v.outcome === 'returned') c.returned++;
        else {
          c.errors++;
          c.byError[v.outcome] = (c.byError[v.outcome] ?? 0) + 1;
          if (q.mode === 'api' && v.outcome === 'TorchError:misnamed') bump(c.misnamed, v.name);
          else if (q.mode === 'api' && v.outcome !== 'TorchError' && v.outcome !== 'user-code') bump(c.otherErrors, `${v.name} ${v.outcome}`);
          if (v.leak) bump(c.leaks, v.name);
        }
      }
      done += r.results.size;
      if (generatorErrors.length) throw new Error(`the fuzzer's argument generator failed: ${generatorErrors[0]}`);
      if (r.internal) internalErrors.push(r.internal);
      if (r.failure) {
        const f = r.failure;
        const at = f.index >= 0 ? f.index : q.from + r.results.size;
        c.calls++;
        if (f.kind === 'crash') c.crashes++;
        else c.hangs++;
        done++;
        log(`!! ${f.kind} in ${q.mode} call ${at} (${f.how}); bisecting`);
        const { repro, description } = await bisect(q.mode, o.seed, q.from, at, o);
        findings.push({ mode: q.mode, kind: f.kind, index: at, how: f.how, repro, description, stderr: f.stderr.slice(-2000) });
        const rest = q.from + q.count - (at + 1);
        if (rest > 0) queue.unshift({ mode: q.mode, from: at + 1, count: rest });
      } else if (r.internal) {
        // a fuzzer bug: do not loop on it
        log(`!! worker error: ${r.internal.slice(0, 300)}`);
      }
      log(`  ${done}/${total} calls, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  await Promise.all(range(0, o.jobs ?? 1).map(() => worker()));
  if (internalErrors.length) throw new Error(`fuzz worker failed: ${internalErrors[0]}`);
  return { seed: o.seed, counts, findings, seconds: (Date.now() - t0) / 1000 };
}

export function formatReport(r: FuzzReport): string {
  const rows = [['mode', 'calls', 'returned', 'errors', 'crashes', 'hangs', 'functions']];
  const tot = { calls: 0, returned: 0, errors: 0, crashes: 0, hangs: 0, functions: 0 };
  for (const m of MODES) {
    const c = r.counts[m];
    if (!c.calls) continue;
    rows.push([m, c.calls, c.returned, c.errors, c.crashes, c.hangs, c.functions.size].map(String));
    tot.calls += c.calls; tot.returned += c.returned; tot.errors += c.errors; tot.crashes += c.crashes; tot.hangs += c.hangs; tot.functions += c.functions.size;
  }
  rows.push(['total', tot.calls, tot.returned, tot.errors, tot.crashes, tot.hangs, tot.functions].map(String));
  const w = rows[0]!.map((_, j) => Math.max(...rows.map((row) => row[j]!.length)));
  const lines = rows.map((row) => row.map((x, j) => (j === 0 ? x.padEnd(w[j]!) : x.padStart(w[j]!))).join('  '));
  lines.splice(1, 0, w.map((n) => '-'.repeat(n)).join('  '));
  const errs: Record<string, number> = {};
  for (const m of MODES) for (const [k, v] of Object.entries(r.counts[m].byError)) errs[k] = (errs[k] ?? 0) + v;
  lines.push('', `errors by class: ${Object.entries(errs).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  const api = r.counts.api;
  const most = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
  if (api.calls) {
    lines.push(`API errors that are not TorchErrors (user code aside): ${total(api.otherErrors)}${api.otherErrors.size ? `; most: ${most(api.otherErrors)}` : ''}`);
    lines.push(`API TorchErrors naming another function than the one called: ${total(api.misnamed)}${api.misnamed.size ? `; most: ${most(api.misnamed)}` : ''}`);
    lines.push(`failing API calls that left native tensors alive: ${total(api.leaks)}${api.leaks.size ? `; most: ${most(api.leaks)}` : ''}`);
  }
  const files = [...r.counts.files.byFunction].sort((a, b) => a[0].localeCompare(b[0]));
  if (files.length) lines.push(`files by kind: ${files.map(([k, m]) => `${k.replace(/^file:/, '')} (${[...m].sort((a, b) => b[1] - a[1]).map(([o, v]) => `${o} ${v}`).join(', ')})`).join('; ')}`);
  lines.push(`seed ${r.seed}, ${r.seconds.toFixed(1)} s`);
  for (const f of r.findings) {
    lines.push('', `${f.kind.toUpperCase()} (${f.how}) at ${f.mode} call ${f.index}${f.repro.length > 1 ? ` (needs calls ${f.repro[0]}..${f.index})` : ''}`,
      `  reproduce: ${describeRepro(f.mode, r.seed, f.repro)}`, `  call: ${f.description}`);
    if (f.stderr.trim()) lines.push(`  stderr: ${f.stderr.trim().split('\n').slice(-5).join('\n          ')}`);
  }
  return lines.join('\n');
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const [k, v] = a.includes('=') ? a.slice(2).split('=', 2) : [a.slice(2), argv[++i]];
    if (v === undefined) throw new Error(`--${k} needs a value`);
    out[k!] = v;
  }
  return out;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const known = ['calls', 'native-calls', 'files', 'seed', 'batch', 'jobs', 'call-timeout', 'mode', 'only', 'mem-limit-kb'];
  for (const k of Object.keys(a)) if (!known.includes(k)) throw new Error(`unknown option --${k} (known: ${known.map((x) => `--${x}`).join(' ')})`);
  const int = (k: string, d: number): number => {
    if (a[k] === undefined) return d;
    const v = Number(a[k]);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer, got ${a[k]}`);
    return v;
  };
  const seed = a.seed === undefined || a.seed === 'random' ? Math.floor(Math.random() * 2 ** 31) : int('seed', 0);
  const o: FuzzOptions = {
    seed, calls: { api: 0, native: 0, files: 0 }, batch: int('batch', 400), jobs: Math.max(1, int('jobs', 1)),
    callTimeoutMs: int('call-timeout', 20_000), memLimitKb: int('mem-limit-kb', 6_000_000), log: (s) => process.stderr.write(`${s}\n`),
  };
  if (a.only !== undefined) {
    // replay: print each call and its outcome
    const mode = (a.mode ?? 'api') as Mode;
    if (!MODES.includes(mode)) throw new Error(`--mode must be one of ${MODES.join(', ')}`);
    const m = /^(\d+)(?:\.\.(\d+))?$/.exec(a.only);
    if (!m) throw new Error('--only takes I or I..J');
    const idx = range(Number(m[1]), Number(m[2] ?? m[1]) + 1);
    const r = await runBatch({ mode, seed, from: 0, count: 0, indices: idx, verbose: true }, o);
    for (const i of idx) console.log(`${i}: ${r.described.get(i) ?? ''} => ${r.results.get(i)?.outcome ?? '(did not finish)'} ${r.results.get(i)?.detail ?? ''}`);
    if (r.failure) console.log(`${r.failure.kind.toUpperCase()} (${r.failure.how}) at call ${r.failure.index}\n${r.failure.stderr.trim().split('\n').slice(-10).join('\n')}`);
    return r.failure ? 1 : 0;
  }
  const calls = int('calls', 20_000);
  o.calls = { api: calls, native: int('native-calls', Math.round(calls / 4)), files: int('files', Math.round(calls / 10)) };
  process.stderr.write(`fuzz: seed ${seed}, ${o.calls.api} API calls, ${o.calls.native} native calls, ${o.calls.files} files, ${o.jobs} job(s)\n`);
  const report = await runFuzz(o);
  console.log(formatReport(report));
  const bad = report.findings.length;
  return bad ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then((c) => process.exit(c), (e) => {
    console.error(`fuzz: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  });
}
