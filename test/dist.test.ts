// Distributed data parallelism with real worker processes started through the launcher:
//   - equivalence: 2 ranks x batch B == 1 process x batch 2B after K AdamW steps (within 1e-5), with
//     collectives checked along the way, overlapped buckets, unused parameters and noSync accumulation;
//   - fault: one rank is SIGKILLed mid-run, the other stops by itself within the timeout, the launcher
//     exits non-zero naming the rank, and --resume continues from the last checkpoint to the same result;
//   - two "hosts": a 2-node job across two network namespaces joined by a veth pair (root only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, flmBin, freePort, stripLaunchFlags, workerCommand, type LaunchResult } from '../src/dist/launch.js';
import { distAvailable } from '../src/dist/process-group.js';
import { native } from '../src/native/binding.js';
import { trainSingle } from './fixtures-dist/worker.js';
import { resolveCheckpoint } from '../src/train/checkpoint.js';

const here = dirname(fileURLToPath(import.meta.url));
const worker = join(here, 'fixtures-dist', 'worker.js');
const launcherFixture = join(here, 'fixtures-dist', 'launch-node.js');
const K = 6;
const B = 4;
// Before the shared addon is rebuilt with native/ops_dist_*.cc the distributed tests skip; an addon that
// has it but no Gloo (built without libgloo-dev's headers) fails the first test instead of skipping.
const hasDistOps = typeof native.distInitGroup === 'function';
const skipNoDist: string | false = hasDistOps ? false : 'the addon was built without native/ops_dist_*.cc (rebuild it with npm run build:native)';

interface Report {
  rank: number;
  world: number;
  checks?: Record<string, unknown>;
  buckets: string[][];
  stats: ({ buckets: number; launchedInBackward: number; waitMs: number } | null)[];
  params: Record<string, number[]>;
  resumedFrom?: number;
}

function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>, names?: string[]): number {
  let m = 0;
  for (const n of names ?? Object.keys(b)) {
    const x = a[n];
    const y = b[n];
    assert.ok(x !== undefined && y !== undefined, `parameter ${n} missing`);
    assert.equal(x.length, y.length);
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  }
  return m;
}

async function run(args: string[], o: { timeoutMs?: number; graceMs?: number; quiet?: boolean } = {}): Promise<{ r: LaunchResult; log: string }> {
  let log = '';
  const sink = { write: (s: string) => ((log += s), true) } as unknown as NodeJS.WritableStream;
  const r = await launch({
    nproc: 2,
    command: process.execPath,
    args: [worker, ...args],
    timeoutMs: o.timeoutMs ?? 20_000,
    graceMs: o.graceMs,
    stdout: sink as never,
    stderr: sink as never,
    log: (l) => (log += `[launch] ${l}\n`),
  });
  return { r, log };
}

const reference = skipNoDist ? null : trainSingle({ steps: K, batch: B, world: 2 });
const noGloo = hasDistOps && !distAvailable().gloo ? 'the addon has no Gloo (see the first test)' : false;

test('2 ranks x batch B reach the parameters of 1 process x batch 2B (collectives, buckets, unused params, noSync)', { skip: skipNoDist, timeout: 60_000 }, async () => {
  assert.ok(distAvailable().gloo, 'the addon has no Gloo: install libgloo-dev (Debian/Ubuntu) and rebuild it with npm run build:native');
  const dir = mkdtempSync(join(tmpdir(), 'flm-dist-'));
  try {
    const out = join(dir, 'ddp.json');
    const { r, log } = await run(['--out', out, '--steps', String(K), '--batch', String(B), '--checks', '--find-unused', '--bucket-mb', '0.002']);
    assert.equal(r.exitCode, 0, log);
    assert.match(log, /\[rank 1\] step 6 done/);
    const rep = JSON.parse(readFileSync(out, 'utf8')) as Report;
    assert.equal(rep.world, 2);
    const c = rep.checks!;
    assert.deepEqual(c.sum, [3, 30]);
    assert.deepEqual(c.avg, [1.5, 2]);
    assert.deepEqual(c.max, [1, 0]);
    assert.deepEqual(c.multi, [[1], [1, 1, 1, 1]]);
    assert.deepEqual(c.broadcast, [8, 9]);
    assert.deepEqual(c.allGather, [[0, 0], [1, 1]]);
    assert.deepEqual(c.allGatherCat, [[0, 0], [1, 0], [1, 1]]);
    assert.deepEqual(c.objects, [{ r: 0, s: '' }, { r: 1, s: 'x' }]);
    // buckets in reverse registration order, several of them, launched while backward was running
    assert.ok(rep.buckets.length >= 3, JSON.stringify(rep.buckets));
    assert.equal(rep.buckets[rep.buckets.length - 1]!.at(-1), 'l1.weight');
    for (const s of rep.stats) {
      assert.ok(s !== null);
      assert.equal(s.buckets, rep.buckets.length);
      assert.ok(s.launchedInBackward >= 1, JSON.stringify(s));
    }
    const d = maxDiff(rep.params, reference!);
    assert.ok(d < 1e-5, `max |ddp - single| = ${d}`);
    // the unused layer never got a gradient anywhere: untouched by AdamW, equal to rank 0's init
    assert.ok(maxDiff(rep.params, reference!, ['unused.weight', 'unused.bias']) === 0);

    // gradient accumulation: 2 micro-batches per step, the first under noSync; default bucket size; no unused layer
    const out2 = join(dir, 'accum.json');
    const a = await run(['--out', out2, '--steps', String(K), '--batch', String(B), '--accum', '2', '--no-unused']);
    assert.equal(a.r.exitCode, 0, a.log);
    const rep2 = JSON.parse(readFileSync(out2, 'utf8')) as Report;
    assert.equal(rep2.buckets.length, 1);
    const d2 = maxDiff(rep2.params, reference!, Object.keys(rep2.params));
    assert.ok(d2 < 1e-5, `max |ddp accum - single| = ${d2}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rank killed mid-run stops the other within the timeout; --resume continues from the last checkpoint', { skip: skipNoDist || noGloo, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flm-dist-fault-'));
  const timeoutMs = 4000;
  try {
    const ckpt = join(dir, 'run');
    const out = join(dir, 'final.json');
    const common = ['--out', out, '--steps', String(K), '--batch', String(B), '--ckpt', ckpt, '--find-unused'];
    const t0 = Date.now();
    const { r, log } = await run([...common, '--die-rank', '1', '--die-at', '3'], { timeoutMs, graceMs: 30_000 });
    const elapsed = Date.now() - t0;
    assert.notEqual(r.exitCode, 0, log);
    assert.ok(r.failed !== null && r.failed.rank === 1 && r.failed.signal === 'SIGKILL', log);
    assert.ok(r.report[0]!.startsWith('rank 1 failed: killed by signal SIGKILL'), r.report.join('\n'));
    const r0 = r.workers[0]!;
    const r1 = r.workers[1]!;
    // rank 0 stopped by itself (not by the launcher's grace-period kill), with a clear error, in bounded time
    assert.equal(r0.stoppedByLauncher, false, log);
    assert.equal(r0.exitCode, 1, log);
    assert.match(log, /\[rank 0\] worker failed: .*failed on rank 0 of 2/);
    assert.ok(r0.elapsedMs - r1.elapsedMs < timeoutMs + 2000, `rank 0 stopped ${r0.elapsedMs - r1.elapsedMs} ms after rank 1 died`);
    assert.ok(elapsed < 25_000, `the failed run took ${elapsed} ms`);
    assert.ok(!existsSync(out));

    const res = await run([...common, '--resume']);
    assert.equal(res.r.exitCode, 0, res.log);
    const rep = JSON.parse(readFileSync(out, 'utf8')) as Report;
    assert.ok(rep.resumedFrom !== undefined && rep.resumedFrom >= 2 && rep.resumedFrom <= 3, `resumed from ${rep.resumedFrom}`);
    assert.doesNotMatch(res.log, /step 1 done/);
    const d = maxDiff(rep.params, reference!);
    assert.ok(d < 1e-5, `max |resumed ddp - uninterrupted single| = ${d}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('launcher: flags, commands, and SIGTERM forwarded to the workers', { timeout: 30_000 }, async () => {
  assert.deepEqual(stripLaunchFlags(['pretrain', '--nproc', '2', '--lr=1', '--master-port=5', '--nnodes', '1', '--x', '--', '--nproc', '3']), ['pretrain', '--lr=1', '--x', '--', '--nproc', '3']);
  assert.deepEqual(workerCommand(['a.js', '--k']), { command: process.execPath, args: ['a.js', '--k'] });
  assert.deepEqual(workerCommand(['sh', '-c', 'x'], { exec: true }), { command: 'sh', args: ['-c', 'x'] });
  assert.match(workerCommand(['pretrain', '--c', 'x']).args[0]!, /bin[/\\]flm\.js$/);
  assert.throws(() => workerCommand([]), /no command given/);

  // a launcher (its own process) with two idle workers; SIGTERM to the launcher reaches both
  const script = "process.on('SIGTERM', () => { console.log('got SIGTERM ' + process.env.RANK + '/' + process.env.WORLD_SIZE); process.exit(0); }); console.log('up'); setInterval(() => {}, 1000);";
  const c = spawn(process.execPath, [launcherFixture, JSON.stringify({ nproc: 2 }), '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const up = new Promise<void>((resolve) => {
    const on = (d: Buffer): void => {
      log += d.toString();
      if ((log.match(/\] up/g) ?? []).length === 2) resolve();
    };
    c.stdout.on('data', on);
    c.stderr.on('data', on);
  });
  const closed = new Promise<number | null>((resolve) => c.on('close', (code) => resolve(code)));
  await up;
  c.kill('SIGTERM');
  const code = await closed;
  assert.equal(code, 143, log);
  assert.match(log, /\[rank 0\] got SIGTERM 0\/2/);
  assert.match(log, /\[rank 1\] got SIGTERM 1\/2/);
  assert.match(log, /stopped by SIGTERM/);
});

function sh(cmd: string, args: string[]): { ok: boolean; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || '').trim() };
}

function netnsSkip(): string | false {
  if (skipNoDist) return skipNoDist;
  if (noGloo) return noGloo;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'the two-host test needs root (ip netns)';
  const probe = `flmprobe${process.pid}`;
  const r = sh('ip', ['netns', 'add', probe]);
  if (!r.ok) return `ip netns is not usable here: ${r.err || 'ip not found'}`;
  sh('ip', ['netns', 'del', probe]);
  return false;
}

test('two hosts: a 2-node job across two network namespaces (veth pair)', { skip: netnsSkip(), timeout: 60_000 }, async () => {
  const id = String(process.pid % 100000);
  const nsA = `flmA${id}`;
  const nsB = `flmB${id}`;
  const vA = `flmva${id}`;
  const vB = `flmvb${id}`;
  const ipA = '10.213.77.1';
  const ipB = '10.213.77.2';
  const dir = mkdtempSync(join(tmpdir(), 'flm-dist-netns-'));
  const must = (args: string[]): void => {
    const r = sh('ip', args);
    assert.ok(r.ok, `ip ${args.join(' ')}: ${r.err}`);
  };
  try {
    must(['netns', 'add', nsA]);
    must(['netns', 'add', nsB]);
    must(['link', 'add', vA, 'type', 'veth', 'peer', 'name', vB]);
    must(['link', 'set', vA, 'netns', nsA]);
    must(['link', 'set', vB, 'netns', nsB]);
    must(['-n', nsA, 'addr', 'add', `${ipA}/24`, 'dev', vA]);
    must(['-n', nsB, 'addr', 'add', `${ipB}/24`, 'dev', vB]);
    for (const [ns, v] of [[nsA, vA], [nsB, vB]] as const) {
      must(['-n', ns, 'link', 'set', 'lo', 'up']);
      must(['-n', ns, 'link', 'set', v, 'up']);
    }
    const port = await freePort();
    const out = join(dir, 'netns.json');
    const node = (ns: string, v: string, nodeRank: number, storeToken = 'two-host-secret', timeoutMs = 20_000, p = port): Promise<{ code: number | null; log: string }> =>
      new Promise((resolve) => {
        const opts = { nproc: 1, nnodes: 2, nodeRank, masterAddr: ipA, masterPort: p, timeoutMs, storeToken };
        const args = ['netns', 'exec', ns, process.execPath, launcherFixture, JSON.stringify(opts), worker, '--out', out, '--steps', String(K), '--batch', String(B), '--find-unused'];
        const c = spawn('ip', args, { env: { ...process.env, GLOO_SOCKET_IFNAME: v }, stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        c.stdout.on('data', (d: Buffer) => (log += d.toString()));
        c.stderr.on('data', (d: Buffer) => (log += d.toString()));
        c.on('close', (code) => resolve({ code, log }));
      });
    const [a, b] = await Promise.all([node(nsA, vA, 0), node(nsB, vB, 1)]);
    assert.equal(a.code, 0, a.log);
    assert.equal(b.code, 0, b.log);
    assert.match(b.log, /\[rank 1\] step 6 done/);
    const rep = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const d = maxDiff(rep.params, reference!);
    assert.ok(d < 1e-5, `max |2-node ddp - single| = ${d}`);

    // The store token: a node with another secret is refused (rank 0 names the rank), and the job fails.
    const port2 = await freePort();
    const [a2, b2] = await Promise.all([node(nsA, vA, 0, 'two-host-secret', 8_000, port2), node(nsB, vB, 1, 'not-the-secret', 8_000, port2)]);
    assert.notEqual(a2.code, 0, a2.log);
    assert.notEqual(b2.code, 0, b2.log);
    assert.match(a2.log, /rank 1 did not present the store token/, a2.log);
    assert.doesNotMatch(b2.log, /step 1 done/, b2.log);
  } finally {
    sh('ip', ['netns', 'del', nsA]);
    sh('ip', ['netns', 'del', nsB]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flm finetune retrieval --nproc 2: rank-sharded training; the all-gathered evaluation equals one process scoring the same checkpoint', { skip: skipNoDist || noGloo, timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flm-dist-ft-'));
  try {
    const val = 'shapes:val?n=7&seed=3';
    const ft = spawnSync(process.execPath, [
      flmBin(), 'finetune', 'retrieval', '--nproc', '2', '--preset', 'tiny', '--data', 'shapes:train?n=64&seed=3', '--val-data', val,
      '--steps', '4', '--batch-size', '4', '--micro-batch', '2', '--eval-every', '4', '--negatives', '2', '--out', dir, '--threads', '1',
      '--workers', '0', '--quiet', '--json',
    ], { encoding: 'utf8', timeout: 200_000 });
    assert.equal(ft.status, 0, ft.stderr);
    const line = ft.stdout.split('\n').find((l) => l.includes('{'));
    assert.ok(line, ft.stdout);
    const r = JSON.parse(line.slice(line.indexOf('{'))) as { command: string; metrics: { steps: number }; last_eval: { step: number; metrics: Record<string, number> } };
    assert.equal(r.command, 'finetune retrieval');
    assert.equal(r.metrics.steps, 4);
    assert.equal(r.last_eval.step, 4);
    const state = JSON.parse(readFileSync(join(resolveCheckpoint(dir, 'latest')!, 'state.json'), 'utf8')) as { ranks: unknown[] };
    assert.equal(state.ranks.length, 2);
    // 7 images over 2 ranks (4 + 3 rows, the short block padded): the same recall as one process scoring everything
    const ev = spawnSync(process.execPath, [flmBin(), 'eval', 'retrieval', '--checkpoint', dir, '--which', 'latest', '--data', val, '--threads', '1', '--json', '--quiet'],
      { encoding: 'utf8', timeout: 120_000 });
    assert.equal(ev.status, 0, ev.stderr);
    const single = JSON.parse(ev.stdout.trim().split('\n').pop()!) as { metrics: Record<string, number> };
    for (const k of ['tr_r1', 'tr_r5', 'tr_r10', 'ir_r1', 'ir_r5', 'ir_r10']) assert.equal(r.last_eval.metrics[k], single.metrics[k], k);
    assert.equal(r.last_eval.metrics.n_images, 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flm finetune caption --nproc 2: the one trainer makes every task data-parallel (rank-sharded loader, per-rank state, evaluation)', { skip: skipNoDist || noGloo, timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flm-dist-cap-'));
  try {
    const data = 'shapes:train?n=32&seed=3&size=32';
    const common = ['--data', data, '--workers', '0', '--threads', '1', '--quiet'];
    const pre = spawnSync(process.execPath, [flmBin(), 'pretrain', '--preset', 'tiny', '--steps', '2', '--batch-size', '4', '--vocab-size', '400', '--out', join(dir, 'pre'), ...common], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(pre.status, 0, pre.stderr);
    const cap = spawnSync(process.execPath, [
      flmBin(), 'finetune', 'caption', '--nproc', '2', '--from', join(dir, 'pre'), '--val-data', 'shapes:val?n=4&seed=3&size=32', '--steps', '4',
      '--batch-size', '4', '--micro-batch', '2', '--eval-every', '2', '--out', join(dir, 'cap'), '--json', ...common,
    ], { encoding: 'utf8', timeout: 200_000 });
    assert.equal(cap.status, 0, cap.stderr);
    const line = cap.stdout.split('\n').find((l) => l.includes('{'))!;
    const r = JSON.parse(line.slice(line.indexOf('{'))) as { command: string; metrics: { steps: number; cider: number }; best: { step: number } };
    assert.equal(r.command, 'finetune caption');
    assert.equal(r.metrics.steps, 4);
    assert.ok(Number.isFinite(r.metrics.cider));
    const state = JSON.parse(readFileSync(join(resolveCheckpoint(join(dir, 'cap'), 'latest')!, 'state.json'), 'utf8')) as { ranks: unknown[]; task: string };
    assert.equal(state.task, 'caption');
    assert.equal(state.ranks.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// With a loopback master the store must only serve loopback clients: a client connecting to another
// address of this host (the report: it could read and write keys) is dropped by rank 0's socket filter.
function otherHostAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return null;
}

function tryConnect(host: string, port: number, ms: number): Promise<'connected' | 'refused' | 'no answer'> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (r: 'connected' | 'refused' | 'no answer'): void => {
      clearTimeout(t);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => done('no answer'), ms);
    s.once('connect', () => done('connected'));
    s.once('error', () => done('refused'));
  });
}

test('a loopback master\'s store serves no client from another address of the host', { skip: skipNoDist || (otherHostAddress() === null ? 'this host has no non-loopback IPv4 address' : false), timeout: 60_000 }, async () => {
  const other = otherHostAddress()!;
  const port = await freePort();
  const DIST = new URL('../src/dist/process-group.js', import.meta.url).href;
  // rank 0 of a 2-rank job: it hosts the store and blocks waiting for rank 1, which never comes
  const script = `const D = await import(${JSON.stringify(DIST)});
    try { D.initProcessGroup({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: ${port}, timeoutMs: 20000, backend: 'gloo' }); } catch {}`;
  const rank0 = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  try {
    let local: string = 'no answer';
    for (let i = 0; i < 100 && local !== 'connected'; i++) {
      local = await tryConnect('127.0.0.1', port, 1000);
      if (local !== 'connected') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(local, 'connected', 'the store never listened on 127.0.0.1');
    const remote = await tryConnect(other, port, 1500);
    assert.notEqual(remote, 'connected', `a client connected to the loopback store through ${other}:${port}`);
  } finally {
    rank0.kill('SIGKILL');
  }
});

test('a non-loopback master needs a store token (launcher and initProcessGroup)', { skip: skipNoDist }, async () => {
  const saved = process.env.FLM_STORE_TOKEN;
  delete process.env.FLM_STORE_TOKEN;
  try {
    await assert.rejects(
      launch({ nproc: 1, nnodes: 2, nodeRank: 1, masterAddr: '10.1.2.3', masterPort: 29999, command: process.execPath, args: ['-e', ''] }),
      /not a loopback address: give every node the same --store-token/,
    );
    const D = await import('../src/dist/process-group.js');
    assert.throws(
      () => D.initProcessGroup({ rank: 1, worldSize: 2, masterAddr: '10.1.2.3', masterPort: 29999, timeoutMs: 1000, backend: 'gloo' }),
      /not a loopback address: give every rank the same store token/,
    );
  } finally {
    if (saved !== undefined) process.env.FLM_STORE_TOKEN = saved;
  }
});

test('flm launch exits with the failing workers\' code (was 0)', () => {
  const run = (...args: string[]): number | null => spawnSync(process.execPath, [flmBin(), 'launch', '--nproc', '2', '--no-prefix', '--grace', '1000', ...args], { encoding: 'utf8', timeout: 60_000 }).status;
  assert.equal(run('--exec', '--', 'false'), 1);
  assert.equal(run('--exec', '--', 'sh', '-c', 'exit 3'), 3);
  assert.equal(run('--exec', '--', 'true'), 0);
});
