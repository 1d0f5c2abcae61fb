import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawHardNegatives, wordOverlap } from '../src/tasks/retrieval/hard-negatives.js';
import { createRetrievalTask } from '../src/tasks/retrieval/task.js';

test('word overlap is the Jaccard index of the word sets', () => {
  assert.equal(wordOverlap('a red circle', 'a red circle'), 1);
  assert.equal(wordOverlap('a red circle', 'a blue circle'), 2 / 4);
  assert.equal(wordOverlap('A red, circle.', 'circle red a'), 1);
  assert.equal(wordOverlap('a red circle', 'two green stars'), 0);
  assert.equal(wordOverlap('', ''), 1);
});

test('hard negatives are the most overlapping draws, never the true caption, deterministic per step', () => {
  const near = 'a large red circle left of a blue square';
  const truth = 'a large blue circle left of a red square';
  const pool = [truth, near, 'two green stars', 'a yellow triangle', 'one purple diamond', 'a tiny orange heart'];
  const key = { seed: 1, step: 7, micro: 0 };
  const [first] = drawHardNegatives(pool, [truth], 2, key);
  assert.equal(first!.length, 2);
  assert.equal(first![0], near, 'the same words in another order rank first');
  assert.ok(!first!.includes(truth));
  assert.deepEqual(drawHardNegatives(pool, [truth], 2, key), [first]);
  assert.deepEqual(drawHardNegatives(pool, [truth, near], 0, key), [[], []]);
  // a pool holding only the true caption still yields the asked number (the true caption, last resort)
  assert.deepEqual(drawHardNegatives([truth], [truth], 1, key), [[truth]]);
});

test('the retrieval task refuses more hard negatives than negatives', async () => {
  await assert.rejects(createRetrievalTask(null, { negatives: 3, hardNegatives: 4, itmWeight: 0.5 }), /hard negatives must be an integer in \[0, negatives = 3\], got 4/);
  await assert.rejects(createRetrievalTask(null, { negatives: 3, hardNegatives: 1.5, itmWeight: 0.5 }), /hard negatives/);
});
