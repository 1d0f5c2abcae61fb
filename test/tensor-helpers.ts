// Shared helpers for the engine tests (not a test file itself).
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Tensor, memory, tensor, type DType } from '../src/tensor/index.js';
import { K, type Known } from './tensor-known-values.js';

/** The generator's deterministic inputs: ((i * 7 + k) % 11) / 5 - 1, values in [-1, 1]. */
export function pat(n: number, k: number, dtype: DType = 'float32'): Tensor {
  return tensor(Array.from({ length: n }, (_, i) => ((i * 7 + k) % 11) / 5 - 1), { dtype });
}

/** A known value by name (fails loudly on a typo). */
export function known(name: string): Known {
  const k = K[name];
  assert.ok(k, `no known value '${name}' (regenerate test/tensor-known-values.ts?)`);
  return k;
}

/** Asserts shape and values (|a - e| <= atol + rtol |e|); bool expectations compare truthiness. */
export function assertKnown(t: Tensor, name: string, atol = 1e-5, rtol = 1e-5): void {
  const k = known(name);
  assert.deepEqual(t.shape, k.shape, `${name}: shape`);
  assertValues(t.toFlatArray(), k.v, name, atol, rtol);
}

export function assertValues(actual: readonly number[], expected: readonly (number | boolean)[], what = 'values', atol = 1e-5, rtol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (typeof e === 'boolean') {
      assert.equal(a !== 0, e, `${what}[${i}]: got ${a}, expected ${e}`);
    } else if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: got ${a}, expected NaN`);
    } else if (!Number.isFinite(e)) {
      assert.equal(a, e, `${what}[${i}]`);
    } else {
      assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: got ${a}, expected ${e}`);
    }
  }
}

/** Asserts a tensor equals nested data exactly (shape and values). */
export function assertExact(t: Tensor, expected: unknown, what = 'tensor'): void {
  assert.deepEqual(t.toArray(), expected, what);
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * memory().numTensors once the garbage collector has freed every tensor earlier code forgot: a leak
 * check that starts from it cannot see the collector free unrelated tensors in the middle.
 */
export function settledTensorCount(): number {
  let before = -1;
  for (let i = 0; i < 10 && memory().numTensors !== before; i++) {
    before = memory().numTensors;
    gc();
  }
  return memory().numTensors;
}
