// The README's main command end to end at the tiny size: pretraining, zero-shot and fine-tuned
// retrieval, captioning, their metrics, examples and demo.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_DEFAULTS, formatDemo, runDemo, type DemoResult } from '../src/demo/demo.js';

test('flm demo at the tiny size: every stage runs and reports its metrics', { timeout: 300_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'flm-demo-'));
  try {
    const r = await runDemo({
      ...DEMO_DEFAULTS, out, preset: 'tiny', pretrainSteps: 4, retrievalSteps: 2, captionSteps: 2, vqaSteps: 2, vqaQuestions: 6, retrievalImages: 6, captionImages: 4, threads: 1, quiet: true,
    });
    assert.equal(r.pretrain.steps, 4);
    assert.ok(r.retrieval, 'retrievalSteps > 0 fine-tunes retrieval');
    assert.equal(r.retrieval.steps, 2);
    assert.equal(r.caption.steps, 2);
    assert.equal(r.zeroShot.examples.length, 5);
    for (const x of [r.zeroShot, r.retrieval]) {
      assert.equal(x.images, 6);
      for (const k of ['tr_r1', 'tr_r5', 'tr_r10', 'ir_r1', 'ir_r5', 'ir_r10'] as const) assert.ok(x[k] >= 0 && x[k] <= 1, `${k} ${x[k]}`);
      assert.ok(x.tr_r1 <= x.tr_r5 && x.tr_r5 <= x.tr_r10);
    }
    assert.equal(r.retrieval.examples.length, 5);
    assert.equal(r.caption.images, 4);
    assert.ok(r.caption.bleu4 >= 0 && r.caption.cider >= 0 && r.caption.semanticAccuracy !== null);
    assert.equal(r.caption.examples.length, 4);
    assert.ok(r.caption.objectRecall !== null && r.caption.objectRecall >= 0 && r.caption.objectRecall <= 1);
    assert.ok(r.vqa, 'vqaSteps > 0 fine-tunes VQA');
    assert.equal(r.vqa.steps, 2);
    assert.ok(r.vqa.questions >= 6, `${r.vqa.questions} questions`);
    for (const x of [r.vqa.score, r.vqa.priorScore]) assert.ok(x !== null && x >= 0 && x <= 1, `${x}`);
    assert.equal(r.vqa.examples.length, 6);
    // the score per question type: the counts add up to the questions, the type means to the score
    const types = Object.values(r.vqa.byQuestionType);
    assert.ok(types.length >= 2, Object.keys(r.vqa.byQuestionType).join(','));
    assert.equal(types.reduce((a, t) => a + t.n, 0), r.vqa.questions);
    assert.ok(Math.abs(types.reduce((a, t) => a + t.score * t.n, 0) / r.vqa.questions - r.vqa.score) < 1e-9);
    assert.ok(Math.abs(types.reduce((a, t) => a + t.prior! * t.n, 0) / r.vqa.questions - r.vqa.priorScore!) < 1e-9);
    assert.ok(r.vqa.examples.every((e) => e.question.length > 0 && e.expected !== null));
    const saved = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as DemoResult;
    assert.deepEqual(saved.zeroShot.examples, r.zeroShot.examples);
    for (const d of ['pretrain', 'retrieval', 'caption', 'vqa']) assert.ok(existsSync(join(out, d, 'metrics.jsonl')), d);
    const lines = formatDemo(r, out).join('\n');
    assert.match(lines, /zero-shot retrieval/);
    assert.match(lines, /BLEU-4 \d/);
    assert.match(lines, /VQA score \d.*answer prior/);
    assert.match(lines, /by question type \(model \/ prior\): \w+ \d/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
