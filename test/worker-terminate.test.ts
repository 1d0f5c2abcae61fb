// worker.terminate() on a worker thread that is running tensor ops: the environment shuts down under
// the op, every N-API call then fails, and an error thrown as a C++ Napi::Error escaped node-addon-api's
// callback wrapper ("terminate called after throwing an instance of 'Napi::Error'", SIGABRT). The repro
// runs in a child process so that an abort fails this test instead of killing the runner; the child also
// checks that the terminated workers' tensors (live handles it never disposed) were released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const TENSOR = new URL('../src/tensor/index.js', import.meta.url).href;

// The worker loops forever on ops that allocate (some kept alive, some disposed) and ops that throw a
// TorchError, so that termination lands both in a successful op and in the error path.
const WORKER = `
  Promise.all([import('node:worker_threads'), import(${JSON.stringify(TENSOR)})]).then(([{ parentPort }, T]) => {
    const kept = [];
    let signalled = false;
    for (;;) {
      const a = T.randn([48, 48]);
      const b = a.matmul(a).add(1);
      if (kept.length < 64) kept.push(b); else b.dispose();
      a.dispose();
      try { T.zeros([2, 3]).matmul(T.zeros([4, 5])); } catch {}
      if (!signalled) { signalled = true; parentPort.postMessage('running'); }
    }
  });`;

const MAIN = `
  const { Worker } = await import('node:worker_threads');
  const T = await import(${JSON.stringify(TENSOR)});
  const keep = T.ones([3]);
  const before = T.memory().numTensors;
  for (let i = 0; i < 6; i++) {
    const w = new Worker(${JSON.stringify(WORKER)}, { eval: true });
    w.on('error', (e) => { console.error('worker error', e); process.exit(3); });
    await new Promise((res) => w.once('message', res));
    await new Promise((res) => setTimeout(res, 150 + 20 * i));
    await w.terminate();
  }
  const after = T.memory().numTensors;
  if (keep.toArray().length !== 3) process.exit(4);
  process.stdout.write('@@' + JSON.stringify({ before, after }) + '\\n');
  process.exit(0);`;

test('worker.terminate() during tensor ops does not abort the process, and the worker tensors are released', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', MAIN], { encoding: 'utf8', timeout: 120_000 });
  const why = `signal ${r.signal}, status ${r.status}, error ${r.error?.message ?? '-'}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.signal, null, `the child was killed (abort or hang): ${why}`);
  assert.equal(r.status, 0, why);
  assert.doesNotMatch(r.stderr, /terminate called/, why);
  const line = r.stdout.split('\n').find((l) => l.startsWith('@@'));
  assert.ok(line, why);
  const { before, after } = JSON.parse(line.slice(2)) as { before: number; after: number };
  // Every tensor a terminated worker still held was freed by the finalizers at its environment's teardown.
  assert.equal(after, before, `live tensors before the workers ${before}, after terminating them ${after}`);
});
