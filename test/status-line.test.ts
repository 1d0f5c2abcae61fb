// The progress line's ETA: the remaining steps at the pace so far, or the remaining --time-budget when
// that runs out first, and the line says which.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eta, statusText } from '../src/train/status-line.js';

const rec = { step: 10, loss: 2.5, lr: 1e-4, tokens_per_s: 100, images_per_s: 5 };

test('ETA without a time budget: the remaining steps at the pace so far', () => {
  assert.deepEqual(eta(10, 100, 20), { seconds: 180, by: 'steps' });
  assert.deepEqual(eta(100, 100, 200), { seconds: 0, by: 'steps' });
  assert.ok(Number.isNaN(eta(0, 100, 0).seconds), 'no pace before the first step');
  const line = statusText(10, 100, rec, 20);
  assert.match(line, /eta 3m00s$/);
});

test('ETA with a time budget: the smaller of the steps estimate and the budget left, and which one it is', () => {
  // 2 s a step, 90 steps to go (180 s), but only 60 s of a 80 s budget left
  assert.deepEqual(eta(10, 100, 20, 80), { seconds: 60, by: 'time budget' });
  assert.match(statusText(10, 100, rec, 20, 80), /eta 1m00s \(time budget\)$/);
  // the steps end first: 180 s to go, 980 s of budget left
  assert.deepEqual(eta(10, 100, 20, 1000), { seconds: 180, by: 'steps' });
  assert.match(statusText(10, 100, rec, 20, 1000), /eta 3m00s \(steps\)$/);
  // a budget already spent (the step in flight finishes, then the run stops)
  assert.deepEqual(eta(10, 100, 95, 90), { seconds: 0, by: 'time budget' });
  // before the first step only the budget is known
  assert.deepEqual(eta(0, 100, 0, 90), { seconds: 90, by: 'time budget' });
  // a resumed run: elapsed seconds and steps both count the earlier session
  assert.deepEqual(eta(50, 100, 50, 70), { seconds: 20, by: 'time budget' });
});
