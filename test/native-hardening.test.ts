// Calls that used to crash or hang the process at the native bridge. Each runs in a child process, so a
// crash (SIGFPE, SIGSEGV) or a hang fails its test instead of killing the runner: the child must exit 0
// after the call threw a TorchError naming the op (and, where given, matching the pattern).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

const TENSOR = new URL('../src/tensor/index.js', import.meta.url).href;
const BINDING = new URL('../src/native/binding.js', import.meta.url).href;
const DIST = new URL('../src/dist/process-group.js', import.meta.url).href;

interface Outcome { threw: boolean; name?: string; op?: string; message?: string; value?: unknown }

/** Runs `body` (an async function body with T = the tensor API, native = the binding, D = dist) in a child. */
function probe(body: string, timeoutMs = 60_000): Outcome {
  const script = `
    const T = await import(${JSON.stringify(TENSOR)});
    const { native } = await import(${JSON.stringify(BINDING)});
    const D = await import(${JSON.stringify(DIST)});
    let out;
    try {
      const value = await (async () => { ${body} })();
      out = { threw: false, value };
    } catch (e) {
      out = { threw: true, name: e?.name, op: e?.op, message: String(e?.message ?? e) };
    }
    process.stdout.write('@@' + JSON.stringify(out) + '\\n');
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: timeoutMs });
  const why = `signal ${r.signal}, status ${r.status}, error ${r.error?.message ?? '-'}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.signal, null, `the child was killed (crash or hang): ${why}`);
  assert.equal(r.status, 0, why);
  const line = r.stdout.split('\n').find((l) => l.startsWith('@@'));
  assert.ok(line, why);
  return JSON.parse(line.slice(2)) as Outcome;
}

function expectTorchError(o: Outcome, op: string, pattern?: RegExp): void {
  assert.ok(o.threw, `expected ${op} to throw, got ${JSON.stringify(o.value)}`);
  assert.equal(o.name, 'TorchError', o.message);
  assert.equal(o.op, op, o.message);
  assert.ok(o.message!.startsWith(`${op}: `), o.message);
  if (pattern) assert.match(o.message!, pattern);
}

// ---- 1. integer arguments are range-checked before they reach libtorch
test('conv2d with groups 2**32 is an error naming the op and the argument (was SIGFPE)', () => {
  const o = probe(`return T.F.conv2d(T.zeros([1, 1, 4, 4]), T.zeros([1, 1, 3, 3]), null, { groups: 2 ** 32 });`);
  expectTorchError(o, 'conv2d', /argument 6 \(groups\) must be an integer in \[1, 2147483647\], got 4294967296/);
});

test('integers that do not fit their target are refused at the bridge, not wrapped', () => {
  const cases: [string, string, RegExp][] = [
    ['conv2d', `return T.F.conv2d(T.zeros([1, 1, 4, 4]), T.zeros([1, 1, 3, 3]), null, { stride: 2 ** 32 + 1 });`, /\(stride\)\[0\] must be an integer in \[1, 2147483647\]/],
    ['conv2d', `return T.F.conv2d(T.zeros([1, 1, 4, 4]), T.zeros([1, 1, 3, 3]), null, { padding: -(2 ** 32) });`, /\(padding\)\[0\]/],
    ['setNumThreads', `return native.setNumThreads(2 ** 32 + 1);`, /argument 0 \(n\) must be an integer in \[1, \d+\], got 4294967297/],
    ['transpose', `return T.ones([2, 2]).transpose(0, 2 ** 60);`, /argument 2 \(d1\) must be an integer in \[-\(2\^53-1\), 2\^53-1\], got 1152921504606846976/],
    ['zeros', `return native.zeros([1e300], null, null);`, /argument 0 \(shape\)\[0\] must be an integer/],
    ['zeros', `return native.zeros([NaN], null, null);`, /got NaN/],
    ['zeros', `return T.zeros([2 ** 40, 2 ** 40]);`, /too large/],
    ['manualSeed', `return native.manualSeed(-1);`, /\(seed\) must be an integer in \[0, 2\^63-1\], got -1/],
    ['full', `return native.full([1], 2n ** 70n, null, null);`, /argument 1 \(value\) must be an integer/],
    ['multinomial', `return T.multinomial(T.ones([3]), 0);`, /numSamples|\(n\)/],
  ];
  const o = probe(`
    const r = [];
    for (const f of [${cases.map(([, b]) => `async () => { ${b} }`).join(',\n')}]) {
      try { await f(); r.push({ threw: false }); } catch (e) { r.push({ threw: true, name: e?.name, op: e?.op, message: String(e?.message ?? e) }); }
    }
    return r;`);
  assert.ok(!o.threw, o.message);
  const results = o.value as { threw: boolean; name?: string; op?: string; message?: string }[];
  cases.forEach(([op, , pattern], i) => {
    const r = results[i]!;
    assert.ok(r.threw, `case ${i} (${op}) did not throw`);
    // native calls made directly carry .op but are plain Errors; through the API they are TorchErrors
    assert.equal(r.op, op, r.message);
    assert.match(r.message!, pattern, `case ${i}`);
    assert.ok(r.message!.startsWith(`${op}: `), r.message);
  });
});

// ---- 2. handles are type-checked
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

test('a process-group handle used as a tensor is a clear error (was SIGSEGV)', async (t) => {
  const avail = probe(`return typeof native.distAvailable === 'function' ? native.distAvailable().gloo : false;`);
  if (avail.value !== true) return t.skip('the addon has no Gloo: no foreign handle to test with');
  const port = await freePort();
  const o = probe(`
    const pg = D.initProcessGroup({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: ${port}, backend: 'gloo', timeoutMs: 20000 });
    const fake = new T.Tensor(pg.handle);
    const r = [];
    for (const f of [() => fake.add(1), () => T.ones([2]).add(fake), () => native.dispose(pg.handle), () => native.isDisposed(pg.handle),
                     () => native.shape(pg.handle), () => native.distGroupInfo(T.ones([1]).handle)]) {
      try { f(); r.push('no error'); } catch (e) { r.push(String(e?.message ?? e)); }
    }
    pg.destroy();
    return r;`);
  assert.ok(!o.threw, o.message);
  const m = o.value as string[];
  assert.match(m[0]!, /^add: argument 0 \(a\) must be a tensor$/);
  assert.match(m[1]!, /^add: argument 1 \(b\) must be a tensor \(a: float32 \[2\]\)$/); // the real tensor's shape
  assert.match(m[2]!, /^dispose: argument 0 \(t\) must be a tensor$/);
  assert.match(m[3]!, /^isDisposed: argument 0 \(t\) must be a tensor$/);
  assert.match(m[4]!, /^shape: argument 0 \(t\) must be a tensor$/);
  assert.match(m[5]!, /process group handle/);
});

// ---- 3. fromBuffer copies the bytes after the last user code has run
test('tensor(typedArray) whose buffer is shrunk or detached by user code never reads freed memory', () => {
  const o = probe(`
    const r = {};
    const attempt = (name, f) => { try { const t = f(); r[name] = { ok: t.toArray() }; } catch (e) { r[name] = { err: String(e?.message ?? e), op: e?.op }; } };
    // A resizable buffer shrunk by a getter on the options: the check sees the new length.
    { const ab = new ArrayBuffer(64, { maxByteLength: 64 }); const f = new Float32Array(ab, 0, 16);
      attempt('optsGetterShrink', () => T.tensor(f, { get shape() { ab.resize(0); return [16]; } })); }
    // A getter on an entry of the shape array, run by the native argument reader (before: after the
    // data pointer was taken): resized, then detached.
    { const ab = new ArrayBuffer(1 << 20, { maxByteLength: 1 << 20 }); const f = new Float32Array(ab);
      const shape = [0]; let calls = 0;
      Object.defineProperty(shape, 0, { get() { if (++calls >= 1) ab.resize(0); return 1 << 18; } });
      attempt('nativeShapeGetterShrink', () => new T.Tensor(native.fromBuffer(f, 0, shape, null))); }
    { const ab = new ArrayBuffer(1 << 20); const f = new Float32Array(ab);
      const shape = [0];
      Object.defineProperty(shape, 0, { get() { if (!ab.detached && ab.byteLength) structuredClone(ab, { transfer: [ab] }); return 1 << 18; } });
      attempt('nativeShapeGetterDetach', () => new T.Tensor(native.fromBuffer(f, 0, shape, null))); }
    // Through the API: the shape's getter is read once, into a copy, before the data is looked at.
    { const ab = new ArrayBuffer(16, { maxByteLength: 16 }); const f = new Float32Array(ab, 0, 4); f.set([1, 2, 3, 4]);
      const shape = [0]; let calls = 0;
      Object.defineProperty(shape, 0, { get() { if (++calls > 1) ab.resize(0); return 4; } });
      attempt('apiShapeGetter', () => T.tensor(f, { shape })); }
    // Still fine: a length-tracking view of a resizable buffer, and a DataView.
    { const ab = new ArrayBuffer(8, { maxByteLength: 64 }); const f = new Float32Array(ab); f.set([5, 6]);
      attempt('lengthTracking', () => T.tensor(f)); }
    { const dv = new DataView(new Float32Array([7, 8]).buffer); attempt('dataView', () => new T.Tensor(native.fromBuffer(dv, 0, [2], null))); }
    return r;`);
  assert.ok(!o.threw, o.message);
  const r = o.value as Record<string, { ok?: unknown; err?: string; op?: string }>;
  assert.match(r.optsGetterShrink!.err ?? '', /^tensor: the Float32Array holds 0 elements but shape \[16\] needs 16/);
  assert.match(r.nativeShapeGetterShrink!.err ?? '', /^fromBuffer: buffer holds 0 bytes but shape and dtype need 1048576/);
  assert.match(r.nativeShapeGetterDetach!.err ?? '', /^fromBuffer: the buffer of argument 0 was detached|^fromBuffer: buffer holds 0 bytes/);
  assert.deepEqual(r.apiShapeGetter, { ok: [1, 2, 3, 4] });
  assert.deepEqual(r.lengthTracking, { ok: [5, 6] });
  assert.deepEqual(r.dataView, { ok: [7, 8] });
});

// ---- 4. sampling parameters are validated
test('binomial with a NaN count is an error, not an endless loop', () => {
  const o = probe(`return T.binomial(T.tensor([NaN]), T.tensor([0.5])).toArray();`, 30_000);
  expectTorchError(o, 'binomial', /count must be finite and >= 0/);
});

// ---- 5. thread counts are capped (found by npm run fuzz: seed 4, api call 1192)
test('setNumThreads(2**31 - 1) is an error, not libgomp exiting the process at the next parallel op', () => {
  for (const fn of ['setNumThreads', 'setNumInteropThreads']) {
    const o = probe(`T.${fn}(2 ** 31 - 1);`, 60_000);
    expectTorchError(o, fn, /argument 0 \(n\) must be an integer in \[1, \d+\], got 2147483647/);
  }
  const o = probe(`
    let err = '';
    try { T.setNumThreads(100000); } catch (e) { err = e.message; }
    return { err, threads: T.getNumThreads(), sum: T.ones([1 << 22]).exp().sum().item() > 0 };`, 60_000);
  assert.ok(!o.threw, o.message);
  const v = o.value as { err: string; threads: number; sum: boolean };
  assert.match(v.err, /^setNumThreads: argument 0 \(n\) must be an integer in \[1, \d+\]/);
  assert.ok(v.threads < 100000 && v.sum, JSON.stringify(v));
});
