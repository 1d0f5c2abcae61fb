// The fuzz child process: runs calls [from, from + count) of a seeded run (or the listed indices) and
// reports each on fd 1 as it goes ("S <i>" before the call, "R <i> <outcome> <name>" after), so the
// parent can name the call that was running when the process died or stopped answering.
// Usage: node dist/fuzz/worker.js <json {mode, seed, from, count, indices?, verbose?}>
import { writeSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as T from '../src/tensor/index.js';
import { native } from '../src/native/binding.js';
import { Rng } from './rng.js';
import { apiTargets, nativeTargets, type Target } from './targets.js';
import { anyValue, argList, describe, indexTensor, targetedValue, userFn, validTensor, DTYPES, TARGETED_VALUES, type Pool } from './values.js';
import { outcomeOf } from './outcome.js';

export interface WorkerJob {
  mode: 'api' | 'native' | 'files';
  seed: number;
  from: number;
  count: number;
  /** replay exactly these call indices (bisection) instead of a range */
  indices?: number[];
  /** print each call's arguments (for reproducers) */
  verbose?: boolean;
}

const say = (s: string): void => {
  writeSync(1, `${s}\n`);
};

// ------------------------------------------------------------------ native signatures from ops.def
interface Param { name: string; type: string; optional: boolean }
function nativeSignatures(): Map<string, Param[]> {
  const def = readFileSync(fileURLToPath(new URL('../../native/ops.def', import.meta.url)), 'utf8');
  const out = new Map<string, Param[]>();
  for (const m of def.matchAll(/^FLM_OP_DEF\((\w+),\s*\w+,\s*"\((.*)\):.*"\)/gm)) {
    const params: Param[] = [];
    // split the parameter list on top-level commas
    let depth = 0; let cur = '';
    const parts: string[] = [];
    for (const ch of m[2]!) {
      if ('<[({'.includes(ch)) depth++;
      if ('>])}'.includes(ch)) depth--;
      if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; } else cur += ch;
    }
    if (cur.trim()) parts.push(cur);
    for (const p of parts) {
      const mm = /^\s*(\w+)(\?)?:\s*(.*)$/.exec(p);
      if (mm) params.push({ name: mm[1]!, optional: mm[2] === '?', type: mm[3]!.trim() });
    }
    out.set(m[1]!, params);
  }
  return out;
}

function nativeArg(p: Pool, type: string): unknown {
  const r = p.rng;
  if (r.chance(0.12)) {
    const v = anyValue(p);
    if (!(v instanceof T.Tensor) || r.chance(0.3)) return v;
    try {
      return v.handle; // a live or disposed tensor's handle
    } catch {
      return v; // forged: no handle to take
    }
  }
  const opt = /^Opt<(.*)>$/.exec(type);
  if (opt) return r.chance(0.3) ? null : nativeArg(p, opt[1]!);
  if (type.includes('|')) return nativeArg(p, r.pick(type.split('|').map((s) => s.trim())));
  switch (type) {
    case 'H': return (r.chance(0.15) ? indexTensor(p) : validTensor(p)).handle;
    case 'H[]': return Array.from({ length: r.range(0, 3) }, () => validTensor(p).handle);
    case 'number': return r.pick([0, 1, 2, 3, -1, 0.5, 1e-5, 4, 7]);
    case 'number[]': return r.pick([[], [2], [2, 3], [-1], [1, 1], [3, 2], [0], [2, 2, 2]]);
    case 'number[][]': return [[1, 2]];
    case 'boolean': return r.chance(0.5);
    case 'string': return r.pick(['mean', 'sum', 'none', 'tanh', 'bilinear', 'nearest', 'cpu', 'ij,jk->ik', 'x', 'avg']);
    case 'string[]': return r.pick([[], ['a'], ['a', 'b']]);
    case 'Scalar': return r.pick([0, 1, -1, 2.5, true, NaN]);
    case 'ArrayBufferView': return r.pick([new Float32Array(4), new Uint8Array(8), new Float64Array(2), new BigInt64Array(1)]);
    case 'Uint8Array': return r.pick([new Uint8Array(0), new Uint8Array(64), Uint8Array.from([0x50, 0x4b, 3, 4])]);
    case "'cpu' | 'cuda'": return r.pick(['cpu', 'cuda']);
    default:
      // DistGroupHandle, DistReducerHandle and the like: we cannot make real ones here, so pass lookalikes
      return r.pick([validTensor(p).handle, {}, null, 1]);
  }
}

// ------------------------------------------------------------------ one call
export interface Call { name: string; self: unknown; args: unknown[]; run: () => unknown }

export function makeCall(job: WorkerJob, i: number, targets: Target[], sigs: Map<string, Param[]>): { call: Call; pool: Pool } {
  const rng = new Rng(job.seed, i);
  const pool: Pool = { rng, made: [] };
  if (job.mode === 'api' && i % 2 === 0) return targetedCall(job, i / 2, targets, pool);
  const t = targets[rng.int(targets.length)]!;
  let self: unknown;
  let args: unknown[];
  if (t.kind === 'native') {
    const params = sigs.get(t.name.slice('native.'.length)) ?? [];
    args = params.map((p) => nativeArg(pool, p.type));
    if (params.length && rng.chance(0.1)) args.pop();
    if (rng.chance(0.05)) args.push(anyValue(pool));
  } else if (t.kind === 'method' || t.kind === 'get' || t.kind === 'set') {
    self = rng.chance(0.88) ? validTensor(pool) : anyValue(pool);
    args = argList(pool, Math.max(t.arity, t.kind === 'set' ? 1 : rng.int(3)), self instanceof T.Tensor ? self : undefined);
  } else {
    args = argList(pool, Math.max(t.arity, rng.int(4)));
    // creation functions want a shape first, tensor() wants data
    if (t.name === 'tensor' && args.length && rng.chance(0.5)) args[0] = rng.pick([[1, 2], [[1, 2], [3, 4]], [true], 3, [], [[]], new Float32Array(6), [NaN, 2 ** 64]]);
    if (['noGrad', 'enableGrad', 'tidy', 'autocast', 'gradcheck'].includes(t.name) && args.length && rng.chance(0.8)) {
      const inner = validTensor(pool, rng.pick(['float64', 'float32', 'int64']), rng.pick([[3], [2, 2], []]));
      args[0] = userFn(rng.pick([
        () => inner.mul(2), () => inner.sum(), () => { throw new Error('inside'); }, async () => inner, () => [inner, { a: inner }],
        (x: T.Tensor) => x.mul(x).sum(), () => undefined,
      ]));
      if (t.name === 'gradcheck' && rng.chance(0.6)) args[1] = [validTensor(pool, 'float64', [2]).clone().requiresGrad_(true)];
    }
  }
  void DTYPES;
  if (job.mode === 'api' && rng.chance(0.15)) return { call: chainCall(t, self, args, targets, pool), pool };
  return { call: { name: t.name, self, args, run: () => t.invoke(self, args) }, pool };
}

/**
 * The targeted sweep (even call indices in api mode): entry k puts bad value v into argument position
 * p of function t, the other arguments plausible; entries are visited in a strided order, so a short run reaches every
 * function with many values (the seed rotates the start).
 */
function targetedCall(job: WorkerJob, k: number, targets: Target[], pool: Pool): { call: Call; pool: Pool } {
  const r = pool.rng;
  const POS = 4;
  const n = targets.length * POS * TARGETED_VALUES;
  // a stride coprime to n visits every entry once per n calls, spread evenly over functions and values
  let stride = 1_000_003 % n || 1;
  while (gcd(stride, n) !== 1) stride++;
  const e = (k * stride + job.seed * 7919) % n;
  const v = Math.floor(e / (targets.length * POS));
  const t = targets[Math.floor(e / POS) % targets.length]!;
  const pos = e % POS;
  const isThis = t.kind === 'method' || t.kind === 'get' || t.kind === 'set';
  const self = isThis ? (pos === 3 ? targetedValue(pool, v) : validTensor(pool)) : undefined;
  const args = argList(pool, Math.max(t.arity, pos + 1), self instanceof T.Tensor ? self : undefined).map((a) => (r.chance(0.7) ? a : plausibleLike(pool, a)));
  args[isThis && pos === 3 ? 0 : pos] = isThis && pos === 3 ? args[0] : targetedValue(pool, v);
  return { call: { name: t.name, self, args, run: () => t.invoke(self, args) }, pool };
}
function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
function plausibleLike(p: Pool, a: unknown): unknown {
  return a instanceof T.Tensor ? validTensor(p) : a;
}

/**
 * A chain: the first call's result (a tensor, or the first tensor in it) becomes `this` or the first
 * argument of the next few calls; inputs and intermediates are disposed at random in between; the chain
 * may end with backward() or by writing through an ArrayBuffer a call returned (dataView's zero-copy
 * buffer must keep its storage alive after every handle is gone).
 */
function chainCall(first: Target, self: unknown, args: unknown[], targets: Target[], pool: Pool): Call {
  const r = pool.rng;
  const steps: Array<{ t: Target; args: unknown[]; asSelf: boolean; disposeBefore: boolean }> = [];
  const n = r.range(1, 3);
  for (let k = 0; k < n; k++) {
    const t = r.chance(0.5) ? r.pick(targets.filter((x) => x.kind === 'method' || x.kind === 'get')) : r.pick(targets);
    steps.push({ t, args: argList(pool, t.arity), asSelf: t.kind !== 'fn' || r.chance(0.3), disposeBefore: r.chance(0.25) });
  }
  const end = r.int(4);
  const firstTensor = (v: unknown): T.Tensor | undefined => {
    if (v instanceof T.Tensor) return v;
    if (Array.isArray(v)) return v.find((x) => x instanceof T.Tensor) as T.Tensor | undefined;
    if (v && typeof v === 'object' && 'values' in v && (v as { values: unknown }).values instanceof T.Tensor) return (v as { values: T.Tensor }).values;
    return undefined;
  };
  return {
    name: `${first.name}+chain`,
    self,
    args,
    run: () => {
      const buffers: ArrayBuffer[] = [];
      let cur: unknown = first.invoke(self, args);
      for (const st of steps) {
        if (cur instanceof ArrayBuffer) buffers.push(cur);
        const x = firstTensor(cur);
        if (x === undefined) break;
        if (st.disposeBefore) for (const m of pool.made) if (r.chance(0.5)) m.dispose();
        try {
          cur = st.asSelf || st.t.kind !== 'fn' ? st.t.invoke(x, st.args) : st.t.invoke(undefined, [x, ...st.args]);
        } catch {
          cur = x;
        }
        if (r.chance(0.3)) harness(() => x.dispose());
      }
      if (cur instanceof ArrayBuffer) buffers.push(cur);
      const last = firstTensor(cur);
      if (end === 0 && last && !last.isDisposed) {
        for (const m of pool.made) m.dispose();
        try { last.sum().backward(); } catch { /* no grad */ }
      } else if (end === 1 && last && !last.isDisposed) {
        try { buffers.push(last.dataView()); } catch { /* not contiguous */ }
      }
      if (buffers.length) {
        for (const m of pool.made) m.dispose();
        if (last instanceof T.Tensor) harness(() => last.dispose());
        for (const b of buffers) new Uint8Array(b).fill(0x5a);
      }
      return cur;
    },
  };
}

/**
 * The chain's own bookkeeping (disposing what it made or was given): a forged tensor's dispose() throws
 * a TorchError named dispose, which is no outcome of the call under test.
 */
function harness(f: () => void): void {
  try {
    f();
  } catch { /* see above */ }
}

/** A workload big enough to run libtorch's parallel kernels, after calls that change process state. */
function canary(): void {
  try {
    T.tidy(() => T.ones([1 << 21]).exp().sum().item());
  } catch { /* an error is fine; a crash or hang is not */ }
}

function reset(): void {
  // process-wide state a call may have changed: grad mode, autocast, thread count
  native.setGradEnabled(true);
  try {
    const [, prev] = native.autocastEnter('cpu', 3);
    native.autocastExit('cpu', false, prev);
  } catch { /* */ }
  native.setNumThreads(1);
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as WorkerJob;
  T.setNumThreads(1);
  if (job.mode === 'files') {
    const { runFileCase } = await import('./files.js');
    const idx = job.indices ?? Array.from({ length: job.count }, (_, k) => job.from + k);
    for (const i of idx) {
      say(`S ${i}`);
      const { name, outcome, detail } = await runFileCase(job.seed, i, job.verbose ? (d) => say(`D ${i} ${d}`) : undefined);
      say(`R ${i} ${outcome} ${name}${job.verbose || outcome === 'generator' ? ` ${detail}` : ''}`);
    }
    return;
  }
  const targets = job.mode === 'native' ? nativeTargets() : apiTargets();
  const sigs = job.mode === 'native' ? nativeSignatures() : new Map<string, Param[]>();
  const idx = job.indices ?? Array.from({ length: job.count }, (_, k) => job.from + k);
  // the driver's self-test: die or stop answering at a given call
  const crashAt = Number(process.env.FLM_FUZZ_CRASH_AT ?? -1);
  const hangAt = Number(process.env.FLM_FUZZ_HANG_AT ?? -1);
  for (const i of idx) {
    T.manualSeed(job.seed * 7919 + i);
    if (i === crashAt) { say(`S ${i}`); process.kill(process.pid, 'SIGSEGV'); }
    if (i === hangAt) { say(`S ${i}`); for (;;) { /* hang */ } }
    let outcome = 'returned';
    let name = '?';
    let detail = '';
    try {
      T.tidy(() => {
      let made: T.Tensor[] = [];
      say(`S ${i}`);
      let call: Call;
      try {
        const made0 = makeCall(job, i, targets, sigs);
        call = made0.call;
        made = made0.pool.made;
      } catch (e) {
        // a generator bug, not an outcome of the API: reported apart
        outcome = 'generator';
        detail = `-> ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
        return;
      }
      // a failing call must free what it made before failing: count native tensors around it (a chain
      // disposes at random, so only single calls are counted)
      let live = 0;
      try {
        name = call.name;
        if (job.verbose) say(`D ${i} ${name} self=${describe(call.self)} args=(${call.args.map((a) => describe(a)).join(', ')})`);
        live = T.memory().numTensors;
        const v = call.run();
        if (v instanceof Promise) v.catch(() => undefined);
      } catch (e) {
        outcome = outcomeOf(e, name);
        if (job.mode === 'api' && !name.endsWith('+chain') && outcome !== 'user-code' && T.memory().numTensors > live) outcome += '!leak';
        if (job.verbose) detail += ` -> ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      }
      for (const t of made) t.dispose();
      });
    } catch {
      // the scope's cleanup met a tensor the call forged (new Tensor(junk)): not the call's outcome
    }
    // tensors kept (keep()) or made by raw native calls are not tracked by tidy; the child is short-lived
    if (/Thread|Seed|RngState|Grad|autocast/i.test(name) || i % 50 === 0) canary();
    reset();
    say(`R ${i} ${outcome} ${name}${job.verbose || outcome === 'generator' ? ` ${detail}` : ''}`);
  }
}

main().then(() => process.exit(0), (e) => {
  say(`X ${String(e?.stack ?? e).split('\n').join(' | ')}`);
  process.exit(3);
});
