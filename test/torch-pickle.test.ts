import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, keep } from '../src/tensor/index.js';
import { loadTorchFile, saveTorchFile, PickleRefusedError } from '../src/io/torch-pickle.js';

const dir = mkdtempSync(join(tmpdir(), 'flm-pickle-'));

test('torch.save round trip through libtorch pickle', () => {
  const p = join(dir, 'sd.pt');
  saveTorchFile(p, new Map([['a.weight', keep(tensor([[1, 2], [3, 4]]))], ['a.ids', keep(tensor([5, 6], { dtype: 'int64' }))]]));
  const back = loadTorchFile(p, { allowPickle: true });
  assert.deepEqual([...back.keys()].sort(), ['a.ids', 'a.weight']);
  assert.deepEqual(back.get('a.weight')!.toArray(), [[1, 2], [3, 4]]);
  assert.equal(back.get('a.ids')!.dtype, 'int64');
});

test('unpickling is refused unless explicitly allowed', () => {
  const p = join(dir, 'sd.pt');
  assert.throws(() => loadTorchFile(p), PickleRefusedError);
});

test('corrupt and truncated files give an error, not a crash', () => {
  const bad = join(dir, 'bad.pt');
  writeFileSync(bad, 'this is not a zip file');
  assert.throws(() => loadTorchFile(bad, { allowPickle: true }), /pickleLoad/);
  const good = readFileSync(join(dir, 'sd.pt'));
  const cut = join(dir, 'cut.pt');
  writeFileSync(cut, good.subarray(0, Math.floor(good.length / 2)));
  assert.throws(() => loadTorchFile(cut, { allowPickle: true }), /pickleLoad/);
});
