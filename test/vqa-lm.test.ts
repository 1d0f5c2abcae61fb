// VQA answered by the language model (`--answer-head lm`, src/tasks/vqa/lm-answers.ts): the batched
// scores equal each answer's log-likelihood computed alone, one full forward pass per (question, answer);
// the loss reaches the LM head and the text tower; the ONNX export refuses such a model by name.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FLMModel, PRESETS } from '../src/models/index.js';
import { manualSeed, noGrad, ones, tensor, tidy, type Tensor } from '../src/tensor/index.js';
import { trainTokenizer } from '../src/data/tokenizer-train.js';
import { TextTokenizer } from '../src/data/tokenizer.js';
import { normalizeClip } from '../src/data/image.js';
import { ShapesWorld, VQA_ANSWERS } from '../src/data/shapes/index.js';
import { objectiveConfig } from '../src/tasks/pretrain/objective-step.js';
import { captionModelConfig } from '../src/tasks/caption/recipe.js';
import { captionImageTokens, forwardHead, forwardStream } from '../src/tasks/caption/decode.js';
import { forwardMask, toAdditive, vqaSoftmaxLoss } from '../src/objectives/index.js';
import { answerPlan, lmAnswerScores, questionIds } from '../src/tasks/vqa/lm-answers.js';
import { taskGraphs } from '../src/onnx/flm-graphs.js';

const S = 32;
const world = new ShapesWorld({ seed: 5, n: 8, imageSize: S });
const captions = Array.from({ length: 8 }, (_, i) => world.captions(i)).flat();
// generated questions, plus a one-word one and a long one (rows of different lengths: the padding path)
const questions = [...Array.from({ length: 3 }, (_, i) => world.vqa(i)[0]!.question), 'colour?', 'is there a small red circle to the left of the large blue square and above the green star?'];

function images(n: number): Tensor {
  const plane = 3 * S * S;
  const flat = new Float32Array(n * plane);
  for (let i = 0; i < n; i++) flat.set(normalizeClip(world.image(i), S), i * plane);
  return tensor(flat, { shape: [n, 3, S, S] });
}

/** log p(answer | image, question) with one forward pass of `<s> question answer` alone (q: the question's ids, `<s>` first). */
function aloneScore(model: FLMModel, image: Tensor, q: readonly number[], answerIds: readonly number[]): number {
  return noGrad(() => tidy(() => {
    const row = [...q, ...answerIds];
    const ids = tensor(Int32Array.from(row), { shape: [1, row.length], dtype: 'int64' });
    const f = forwardStream(model, captionImageTokens(model, image), ids, toAdditive(forwardMask(ones([1, row.length], { dtype: 'int64' })))); // [1, T, H]
    const logp = forwardHead(model).forward(f.select(0, 0)).logSoftmax(-1); // [T, V]
    let s = 0;
    answerIds.forEach((t, k) => { s += logp.select(0, q.length - 1 + k).select(0, t).item(); });
    return s;
  }));
}

describe('VQA answered by the language model', () => {
  let tok: TextTokenizer;
  let model: FLMModel;
  let imgs: Tensor;
  before(async () => {
    manualSeed(4);
    tok = new TextTokenizer(await trainTokenizer(captions, { kind: 'bpe', vocabSize: 420 }), { maxLength: 40 });
    model = new FLMModel(captionModelConfig(objectiveConfig('flm', { ...PRESETS.tiny, max_text_len: 40 }, tok.vocabSize), tok.vocabSize, null));
    model.eval();
    imgs = images(questions.length);
  });
  after(() => {
    model.dispose();
    imgs.dispose();
  });

  it('plans each answer as the tokens that follow a question, with one row per maximal answer prefix', () => {
    const plan = answerPlan(tok, VQA_ANSWERS);
    VQA_ANSWERS.forEach((a, c) => {
      const e = tok.encode(`is it ${a}`, { pad: false });
      const tail = Array.from(e.ids.subarray(0, e.length - 1)).slice(-plan.tokens[c]!.length);
      assert.deepEqual(plan.tokens[c], tail, `answer '${a}' tokenized as after a question`);
    });
    assert.ok(plan.tokens.some((t) => t.length > 1), 'this tokenizer splits some answers (yes, no, numbers)');
    // every context (proper prefix of an answer) lies at the start of its row
    plan.tokens.forEach((t, c) => t.forEach((_, k) => {
      const u = plan.contexts[plan.contextOf[c]![k]!]!;
      assert.equal(u.length, k);
      assert.deepEqual(plan.rows[u.row]!.slice(0, k), t.slice(0, k));
    }));
    const maximal = new Set(VQA_ANSWERS.map((_, c) => plan.tokens[c]!.slice(0, -1).join(',')));
    assert.ok(plan.rows.length <= maximal.size, `${plan.rows.length} rows for ${maximal.size} distinct prefixes`);
  });

  it('batched scores equal each answer\'s log-likelihood computed alone', () => {
    const plan = answerPlan(tok, VQA_ANSWERS);
    const got = noGrad(() => tidy(() => lmAnswerScores(model, tok, plan, imgs, questions).toFlatArray())); // [B·C]
    const C = VQA_ANSWERS.length;
    questions.forEach((q, b) => {
      const img = imgs.narrow(0, b, 1);
      for (let c = 0; c < C; c++) {
        const e = tok.encode(q, { pad: false });
        const want = aloneScore(model, img, Array.from(e.ids.subarray(0, e.length - 1)), plan.tokens[c]!); // without </s>
        assert.ok(Math.abs(got[b * C + c]! - want) < 1e-4, `question ${b} answer '${VQA_ANSWERS[c]}': ${got[b * C + c]} vs ${want}`);
      }
      img.dispose();
    });
  });

  it('the loss reaches the LM head and the text tower, and is the soft-target cross-entropy of the answers\' softmax', () => {
    const plan = answerPlan(tok, VQA_ANSWERS);
    const C = VQA_ANSWERS.length;
    const t = new Float32Array(questions.length * C);
    t[0 * C + 3] = 1;
    t[1 * C + 0] = 0.6;
    t[1 * C + 1] = 0.3;
    t[2 * C + 7] = 1;
    t[3 * C + 20] = 1;
    t[4 * C + 5] = 1;
    const targets = tensor(t, { shape: [questions.length, C] });
    const loss = tidy(() => vqaSoftmaxLoss({ logits: lmAnswerScores(model, tok, plan, imgs, questions), targets }).loss);
    const scores = noGrad(() => tidy(() => lmAnswerScores(model, tok, plan, imgs, questions).logSoftmax(-1).toFlatArray()));
    // the same loss by hand (the model stays in eval mode: no dropout, the same scores twice)
    let want = 0;
    for (let b = 0; b < questions.length; b++) {
      let z = 0;
      for (let c = 0; c < C; c++) z += t[b * C + c]!;
      for (let c = 0; c < C; c++) want -= (t[b * C + c]! / z) * scores[b * C + c]!;
    }
    assert.ok(Math.abs(loss.item() - want / questions.length) < 1e-4, `loss ${loss.item()} vs ${want / questions.length}`);
    loss.backward();
    const grad = (name: string) => {
      const p = new Map(model.namedParameters()).get(name);
      assert.ok(p, name);
      return noGrad(() => tidy(() => p.grad?.abs().sum().item() ?? 0));
    };
    assert.ok(grad('lm_score.decoder.weight') > 0, 'the LM head learns');
    assert.ok(grad('text_transformer.embeddings.word_embeddings.weight') > 0, 'the text tower learns');
    model.zeroGrad();
    loss.dispose();
    targets.dispose();
  });

  it('a question too long for the text length is cut to its first tokens, an empty one answered from the image alone', () => {
    const plan = answerPlan(tok, VQA_ANSWERS);
    const room = model.config.max_text_len - plan.maxRow;
    const long = Array.from({ length: 30 }, () => 'is the red circle left of the blue square').join(' and ') + '?';
    const img = imgs.narrow(0, 0, 2);
    assert.throws(() => lmAnswerScores(model, tok, plan, img, [long]), /2 image\(s\) for 1 question/);
    const got = noGrad(() => tidy(() => lmAnswerScores(model, tok, plan, img, [long, '']).toFlatArray())); // [2·C]
    const cut = questionIds(tok, long, room);
    assert.equal(cut.length, room, 'the long question fills the room left by the longest answer row');
    assert.deepEqual(cut, Array.from(tok.encode(long, { pad: false, maxLength: 1000 }).ids.subarray(0, room)));
    assert.deepEqual(questionIds(tok, '', room), [tok.specialIds.cls, tok.specialIds.sep]);
    const C = VQA_ANSWERS.length;
    const first = imgs.narrow(0, 0, 1);
    const second = imgs.narrow(0, 1, 1);
    for (const c of [0, 7, 20]) {
      assert.ok(Math.abs(got[c]! - aloneScore(model, first, cut, plan.tokens[c]!)) < 1e-4, `long question, answer ${VQA_ANSWERS[c]}`);
      assert.ok(Math.abs(got[C + c]! - aloneScore(model, second, [tok.specialIds.cls, tok.specialIds.sep], plan.tokens[c]!)) < 1e-4, `empty question, answer ${VQA_ANSWERS[c]}`);
    }
    for (const t of [img, first, second]) t.dispose();
  });

  it('an answer that starts another also scores the end token; an empty or too large vocabulary is refused by name', () => {
    const plan = answerPlan(tok, ['red', 'red circle', 'blue']);
    const red = answerPlan(tok, ['red']).tokens[0]!;
    assert.deepEqual(plan.tokens[0], [...red, tok.specialIds.sep], '"red" is scored as "red" then the end of the answer');
    assert.equal(plan.tokens[1]!.at(-1) === tok.specialIds.sep, false);
    assert.equal(plan.tokens[2]!.at(-1) === tok.specialIds.sep, false);
    assert.throws(() => answerPlan(tok, []), /vocabulary is empty/);
    const many = Array.from({ length: 400 }, (_, i) => `answer number ${i} of many`);
    assert.throws(() => answerPlan(tok, many), /--answer-head classifier/);
  });

  it('the ONNX export refuses a model that answers with its language model, naming the flag', () => {
    assert.throws(() => taskGraphs(model, 'vqa'), /--answer-head lm/);
  });
});
