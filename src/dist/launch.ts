// A torchrun-style launcher: starts N worker processes on this node with the rank settings c10d reads
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT), prefixes
// their output with the rank, forwards SIGINT/SIGTERM, and when one worker fails gives the others a
// grace period to stop by themselves (they normally do at once: their next collective fails) before
// terminating them. It reports which rank failed and why, and exits non-zero.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as osConstants } from 'node:os';
import type { Writable } from 'node:stream';

/** torch.distributed's default store port (kept here so that the launcher does not load libtorch). */
const DEFAULT_MASTER_PORT = 29500;

export interface LaunchOptions {
  /** worker processes on this node */
  nproc: number;
  /** nodes taking part (default 1) */
  nnodes?: number;
  /** this node's index (default 0; node 0 hosts rank 0 and the store) */
  nodeRank?: number;
  /** rank 0's address (default 127.0.0.1) */
  masterAddr?: string;
  /** the store's port (default: a free port for a one-node job, 29500 otherwise) */
  masterPort?: number;
  /**
   * The shared secret every rank presents to the rendezvous store, passed to the workers as
   * FLM_STORE_TOKEN (default: this process's FLM_STORE_TOKEN). Required for a non-loopback master.
   */
  storeToken?: string;
  /** program each worker runs, and its arguments */
  command: string;
  args?: string[];
  /** extra environment for the workers (on top of this process's) */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** FLM_DIST_TIMEOUT_MS for the workers: bound on rendezvous and on each collective */
  timeoutMs?: number;
  /** after a worker failed, how long the others may take to stop by themselves before SIGTERM (default 10000) */
  graceMs?: number;
  /** after SIGTERM, how long before SIGKILL (default 5000) */
  killAfterMs?: number;
  /** prefix each output line with "[rank R] " (default true) */
  prefix?: boolean;
  stdout?: Writable;
  stderr?: Writable;
  /** forward SIGINT/SIGTERM received by this process to the workers, SIGKILL after graceMs (default true) */
  forwardSignals?: boolean;
  /** called once per worker after it started */
  onSpawn?: (w: { rank: number; localRank: number; pid: number }) => void;
  /** the launcher's own messages (default: to stderr) */
  log?: (line: string) => void;
}

export interface WorkerResult {
  rank: number;
  localRank: number;
  pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stopped by the launcher (after another rank failed, or a forwarded signal) */
  stoppedByLauncher: boolean;
  /** ms from launch to exit */
  elapsedMs: number;
  /** the last lines the worker wrote to stderr */
  stderrTail: string[];
}

export interface LaunchResult {
  exitCode: number;
  workers: WorkerResult[];
  /** the first worker that failed on its own (the root cause), if any */
  failed: WorkerResult | null;
  /** human-readable failure report (empty on success) */
  report: string[];
  masterPort: number;
}

/** A TCP port that was free a moment ago on this machine. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function signalNumber(sig: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[sig] ?? 1;
}

/** "exit code 3" / "killed by signal SIGKILL", with the worker's last error line when it has one. */
export function describeFailure(w: WorkerResult): string {
  const how = w.signal !== null ? `killed by signal ${w.signal}` : `exit code ${w.exitCode}`;
  const why = [...w.stderrTail].reverse().find((l) => l.trim() !== '');
  return why !== undefined ? `${how}: ${why.trim()}` : how;
}

function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let rest = '';
  return {
    push(chunk: Buffer) {
      const s = rest + chunk.toString('utf8');
      const lines = s.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    },
    end() {
      if (rest !== '') onLine(rest);
      rest = '';
    },
  };
}

/** Starts the workers and resolves when all of them have exited. */
export async function launch(o: LaunchOptions): Promise<LaunchResult> {
  const nproc = o.nproc;
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`launch: --nproc must be a positive integer, got ${nproc}`);
  if (!Number.isInteger(nnodes) || nnodes < 1) throw new Error(`launch: --nnodes must be a positive integer, got ${nnodes}`);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new Error(`launch: --node-rank must be in [0, ${nnodes}), got ${nodeRank}`);
  const masterAddr = o.masterAddr ?? '127.0.0.1';
  const masterPort = o.masterPort ?? (nnodes === 1 ? await freePort() : DEFAULT_MASTER_PORT);
  const worldSize = nnodes * nproc;
  const storeToken = o.storeToken ?? o.env?.FLM_STORE_TOKEN ?? process.env.FLM_STORE_TOKEN ?? '';
  if (worldSize > 1 && storeToken === '' && !/^(127\.\d+\.\d+\.\d+|localhost|::1)$/i.test(masterAddr))
    throw new Error(
      `launch: --master-addr ${masterAddr} is not a loopback address: give every node the same --store-token ` +
        `(or FLM_STORE_TOKEN), so that only ranks holding the secret can join the rendezvous store`,
    );
  const graceMs = o.graceMs ?? 10_000;
  const killAfterMs = o.killAfterMs ?? 5_000;
  const prefix = o.prefix ?? true;
  const out = o.stdout ?? process.stdout;
  const err = o.stderr ?? process.stderr;
  const log = o.log ?? ((l: string) => err.write(`[flm launch] ${l}\n`));
  const t0 = Date.now();

  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...o.env };
  // torchrun's default: one intra-op thread per worker unless the user chose otherwise.
  if (nproc > 1 && baseEnv.OMP_NUM_THREADS === undefined) baseEnv.OMP_NUM_THREADS = '1';
  if (o.timeoutMs !== undefined) baseEnv.FLM_DIST_TIMEOUT_MS = String(o.timeoutMs);

  interface Live {
    res: WorkerResult;
    child: ChildProcess;
    done: boolean;
  }
  const live: Live[] = [];
  const failures: WorkerResult[] = [];
  let stopping = false;
  let forwarded: NodeJS.Signals | null = null;
  const timers: NodeJS.Timeout[] = [];

  const stopAll = (sig: NodeJS.Signals): void => {
    for (const w of live) {
      if (!w.done) {
        w.res.stoppedByLauncher = true;
        try {
          w.child.kill(sig);
        } catch {
          /* already gone */
        }
      }
    }
  };
  const beginStop = (why: string, firstSignal: NodeJS.Signals, delayMs: number): void => {
    if (stopping) return;
    stopping = true;
    if (live.every((w) => w.done)) return;
    log(`${why}; ${delayMs > 0 ? `stopping the other workers in ${delayMs} ms unless they stop first` : 'stopping the workers'}`);
    timers.push(
      setTimeout(() => {
        stopAll(firstSignal);
        timers.push(setTimeout(() => stopAll('SIGKILL'), killAfterMs));
      }, delayMs),
    );
  };

  const onSignal = (sig: NodeJS.Signals): void => {
    if (forwarded !== null) {
      stopAll('SIGKILL');
      return;
    }
    forwarded = sig;
    log(`received ${sig}: forwarding it to the workers`);
    stopAll(sig);
    stopping = true;
    // workers may be saving an interrupt checkpoint: give them the grace period before SIGKILL
    timers.push(setTimeout(() => stopAll('SIGKILL'), Math.max(graceMs, killAfterMs)));
  };
  const forward = o.forwardSignals ?? true;
  if (forward) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const exits: Promise<void>[] = [];
  for (let local = 0; local < nproc; local++) {
    const rank = nodeRank * nproc + local;
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      RANK: String(rank),
      WORLD_SIZE: String(worldSize),
      LOCAL_RANK: String(local),
      LOCAL_WORLD_SIZE: String(nproc),
      GROUP_RANK: String(nodeRank),
      NODE_RANK: String(nodeRank),
      MASTER_ADDR: masterAddr,
      MASTER_PORT: String(masterPort),
      ...(storeToken !== '' ? { FLM_STORE_TOKEN: storeToken } : {}),
      FLM_LAUNCH_WORKER: '1',
    };
    const child = spawn(o.command, o.args ?? [], { env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const res: WorkerResult = {
      rank,
      localRank: local,
      pid: child.pid ?? -1,
      exitCode: null,
      signal: null,
      stoppedByLauncher: false,
      elapsedMs: 0,
      stderrTail: [],
    };
    const w: Live = { res, child, done: false };
    live.push(w);
    const tag = prefix ? `[rank ${rank}] ` : '';
    const so = lineSplitter((l) => out.write(tag + l + '\n'));
    const se = lineSplitter((l) => {
      res.stderrTail.push(l);
      if (res.stderrTail.length > 20) res.stderrTail.shift();
      err.write(tag + l + '\n');
    });
    child.stdout?.on('data', (c: Buffer) => so.push(c));
    child.stderr?.on('data', (c: Buffer) => se.push(c));
    exits.push(
      new Promise<void>((resolve) => {
        let spawnError: Error | null = null;
        child.on('error', (e) => {
          spawnError = e;
        });
        child.on('close', (code, signal) => {
          so.end();
          se.end();
          w.done = true;
          res.exitCode = code;
          res.signal = signal;
          res.elapsedMs = Date.now() - t0;
          if (spawnError !== null) {
            res.exitCode = 127;
            res.stderrTail.push(`cannot start ${o.command}: ${(spawnError as Error).message}`);
          }
          const failed = res.exitCode !== 0;
          if (failed && !res.stoppedByLauncher) {
            failures.push(res);
            log(`rank ${rank} (local rank ${local}, pid ${res.pid}) failed: ${describeFailure(res)}`);
            beginStop(`rank ${rank} failed`, 'SIGTERM', graceMs);
          }
          resolve();
        });
      }),
    );
    if (res.pid > 0) o.onSpawn?.({ rank, localRank: local, pid: res.pid });
  }

  try {
    await Promise.all(exits);
  } finally {
    for (const t of timers) clearTimeout(t);
    if (forward) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  const workers = live.map((w) => w.res);
  const failed = failures[0] ?? null;
  const report: string[] = [];
  let exitCode = 0;
  if (forwarded !== null) {
    exitCode = 128 + signalNumber(forwarded);
    report.push(`stopped by ${forwarded}`);
  }
  if (failed !== null) {
    if (exitCode === 0) exitCode = failed.signal !== null ? 128 + signalNumber(failed.signal) : failed.exitCode || 1;
    report.push(`rank ${failed.rank} failed: ${describeFailure(failed)}`);
    for (const f of failures.slice(1)) report.push(`rank ${f.rank} also failed (${f.elapsedMs - failed.elapsedMs} ms later): ${describeFailure(f)}`);
    for (const w of workers) {
      if (w.stoppedByLauncher && w.exitCode !== 0) report.push(`rank ${w.rank} was stopped by the launcher (${w.signal ?? `exit code ${w.exitCode}`}) after the grace period`);
    }
  } else if (exitCode === 0) {
    const bad = workers.find((w) => w.exitCode !== 0);
    if (bad !== undefined) {
      exitCode = bad.exitCode || 1;
      report.push(`rank ${bad.rank} failed: ${describeFailure(bad)}`);
    }
  }
  return { exitCode, workers, failed, report, masterPort };
}

/** The flm executable (bin/flm.js) of this package. */
export function flmBin(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = join(here, up, 'bin', 'flm.js');
    if (existsSync(p)) return p;
  }
  throw new Error('launch: cannot find bin/flm.js');
}

/**
 * What a worker runs for `flm launch -- <tokens>`: a .js/.mjs/.cjs file runs under node, `exec`
 * runs the tokens as a program, anything else is an flm subcommand (`flm launch -- pretrain ...`).
 */
export function workerCommand(tokens: string[], o: { exec?: boolean } = {}): { command: string; args: string[] } {
  if (tokens.length === 0) throw new Error('launch: no command given (put it after --, e.g. `flm launch --nproc 2 -- pretrain ...`)');
  if (o.exec) return { command: tokens[0]!, args: tokens.slice(1) };
  if (/\.(c|m)?js$/.test(tokens[0]!)) return { command: process.execPath, args: tokens };
  return { command: process.execPath, args: [flmBin(), ...tokens] };
}

/** The launch options a training command accepts directly (`flm pretrain --nproc 2 ...`). */
export const LAUNCH_FLAGS = ['--nproc', '--nnodes', '--node-rank', '--master-addr', '--master-port', '--dist-timeout', '--store-token'] as const;

/** argv without the launch flags (both `--flag v` and `--flag=v` forms). */
export function stripLaunchFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const flag = LAUNCH_FLAGS.find((f) => a === f || a.startsWith(f + '='));
    if (flag !== undefined) {
      if (a === flag) i++; // skip its value
      continue;
    }
    out.push(a);
  }
  return out;
}

export interface SelfLaunchOptions {
  nproc?: number | string;
  nnodes?: number | string;
  nodeRank?: number | string;
  masterAddr?: string;
  masterPort?: number | string;
  distTimeout?: number | string;
  storeToken?: string;
}

function num(v: number | string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return n;
}

/**
 * For `flm pretrain --nproc N ...` (and finetune): in the command the user typed, starts N workers
 * running the same command without the launch flags and resolves to the launcher's exit code; in a
 * worker (or with --nproc 1 on one node) resolves to null, and the command trains in this process.
 * `argv` is the command's own arguments (default: process.argv after the script).
 */
export async function launchSelfIfRequested(opts: SelfLaunchOptions, argv: readonly string[] = process.argv.slice(2)): Promise<number | null> {
  if (process.env.FLM_LAUNCH_WORKER === '1') return null;
  const nproc = num(opts.nproc, '--nproc') ?? 1;
  const nnodes = num(opts.nnodes, '--nnodes') ?? 1;
  if (nproc <= 1 && nnodes <= 1) return null;
  const r = await launch({
    nproc,
    nnodes,
    nodeRank: num(opts.nodeRank, '--node-rank'),
    masterAddr: opts.masterAddr,
    masterPort: num(opts.masterPort, '--master-port'),
    storeToken: opts.storeToken,
    timeoutMs: num(opts.distTimeout, '--dist-timeout'),
    command: process.execPath,
    args: [flmBin(), ...stripLaunchFlags(argv)],
  });
  for (const l of r.report) console.error(`[flm launch] ${l}`);
  return r.exitCode;
}
