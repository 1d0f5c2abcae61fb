import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawHardNegatives, wordOverlap } from '../src/tasks/retrieval/hard-negatives.js';
import { createRetrievalTask } from '../src/tasks/retrieval/task.js';
import { drawImageNegatives } from '../src/tasks/retrieval/image-negatives.js';

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

test('image negatives: other images of the batch, distinct, deterministic per step; same captions excused', () => {
  const texts = ['a red circle', 'a blue square', 'a red circle', 'two green stars', 'a yellow triangle'];
  const key = { seed: 3, step: 11, micro: 0 };
  const n = drawImageNegatives(texts, 3, key);
  assert.equal(n.index.length, texts.length);
  n.index.forEach((row, i) => {
    assert.equal(row.length, 3);
    assert.equal(new Set(row).size, 3, 'drawn without replacement');
    assert.ok(!row.includes(i), 'never its own image');
    for (const j of row) assert.ok(j >= 0 && j < texts.length);
    assert.deepEqual(n.excused[i], row.map((j) => texts[j] === texts[i]));
  });
  assert.deepEqual(drawImageNegatives(texts, 3, key), n);
  assert.notDeepEqual(drawImageNegatives(texts, 3, { ...key, step: 12 }).index, n.index);
  // every other image is drawn when asked for all of them; caption 0's twin (image 2) is excused
  const all = drawImageNegatives(texts, 4, key);
  assert.deepEqual([...all.index[0]!].sort(), [1, 2, 3, 4]);
  assert.equal(all.excused[0]![all.index[0]!.indexOf(2)], true);
  assert.deepEqual(drawImageNegatives(texts, 0, key).index, [[], [], [], [], []]);
  assert.throws(() => drawImageNegatives(texts, 5, key), /batch of at least 6 images, got 5/);
  assert.throws(() => drawImageNegatives(texts, -1, key), /integer >= 0/);
});

test('the retrieval task refuses negative image negatives', async () => {
  await assert.rejects(createRetrievalTask(null, { negatives: 3, imageNegatives: -1, itmWeight: 0.5 }), /image negatives must be an integer >= 0, got -1/);
});
