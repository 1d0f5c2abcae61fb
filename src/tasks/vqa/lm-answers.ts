// VQA answered by the language model (`--answer-head lm`): each answer of the vocabulary is scored by
// its log-likelihood as the words that follow the question on the forward (left-to-right) stream,
// log p(a | image, question) = sum_k log p(a_k | image, question, a_<k), read from the forward stream's
// LM head (the head captions are decoded with). An answer whose tokens start another answer's ("red" and
// "red and white") also scores the end token `</s>` after it, or the longer one could never lose to it.
// The answer is the best-scoring one; training is a softmax over the answers' scores against the
// normalised soft targets (objectives vqaSoftmaxLoss). Unlike a new classifier on cls_feats, every answer
// starts from what pretraining taught the LM head about its words.
//
// Cost: the forward stream runs once per question and per distinct "answer minus its last token"
// prefix that is not itself the start of a longer one (with a tokenizer trained on the shapes world's
// captions: 2 rows, the question + "Ġ y" and + "Ġ n", which also hold the contexts of the one-token
// answers and of the numbers' "Ġ 2"), and the LM head once per distinct answer prefix. The image tokens
// are computed once per image. Vocabularies needing more than MAX_CONTEXTS distinct prefixes (a VQAv2
// vocabulary of thousands of answers) are refused: their [B·contexts, V] log-probabilities do not fit a
// training step; the classifier head is the one for them.
import { tensor, tidy, type Tensor } from '../../tensor/index.js';
import type { FLMModel } from '../../models/index.js';
import { forwardMask, toAdditive } from '../../objectives/index.js';
import { DataError } from '../../data/types.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { captionImageTokens, forwardHead, forwardStream } from '../caption/decode.js';

/** How the answers of a vocabulary are read off the forward stream (built once per tokenizer). */
export interface AnswerPlan {
  /** each answer's tokens as they follow a question (with the leading space the tokenizer gives them) */
  tokens: number[][];
  /** forward-stream rows appended to every question: the maximal answer prefixes */
  rows: number[][];
  /** each distinct answer prefix ("context"): its row and its length in that row */
  contexts: { row: number; length: number }[];
  /** per answer and token k: the context that predicts it */
  contextOf: number[][];
  /** the longest row */
  maxRow: number;
}

function contentIds(tok: TextTokenizer, text: string): number[] {
  const e = tok.encode(text, { pad: false, maxLength: Math.max(tok.maxLength, 512) });
  const out: number[] = [];
  for (let i = 0; i < e.length; i++) if (e.specialTokensMask[i] === 0) out.push(e.ids[i]!);
  return out;
}

// answers follow the question's last word after a space; a byte-level BPE tokenizer spells " red" and
// "red" with different tokens, so each answer is tokenized in that position
const PROBE = '?';

export const MAX_CONTEXTS = 256;

const isPrefix = (p: readonly number[], of: readonly number[]) => p.length <= of.length && p.every((v, i) => of[i] === v);

export function answerPlan(tok: TextTokenizer, answers: readonly string[]): AnswerPlan {
  if (answers.length === 0) throw new DataError('the VQA answer vocabulary is empty');
  const probe = contentIds(tok, PROBE);
  const words = answers.map((a) => {
    const ids = contentIds(tok, `${PROBE} ${a}`);
    if (ids.length <= probe.length || probe.some((t, i) => ids[i] !== t)) throw new DataError(`VQA answer '${a}' has no tokens of its own after a question (tokenizer ${tok.modelType})`);
    return ids.slice(probe.length);
  });
  const tokens = words.map((w, c) => (words.some((o, d) => d !== c && o.length > w.length && isPrefix(w, o)) ? [...w, tok.specialIds.sep] : w));
  const key = (ids: readonly number[]) => ids.join(',');
  // the contexts: every proper prefix of every answer (the empty one included)
  const ctxIds = new Map<string, number[]>();
  for (const t of tokens) for (let k = 0; k < t.length; k++) ctxIds.set(key(t.slice(0, k)), t.slice(0, k));
  const all = [...ctxIds.values()];
  if (all.length > MAX_CONTEXTS) {
    throw new DataError(`--answer-head lm: the ${answers.length} answers need ${all.length} distinct answer prefixes per question (at most ${MAX_CONTEXTS}): use --answer-head classifier for a vocabulary this large`);
  }
  const rows = all.filter((c) => !all.some((o) => o.length > c.length && isPrefix(c, o)));
  const contextIndex = new Map<string, number>();
  const contexts = all.map((c, i) => {
    contextIndex.set(key(c), i);
    return { row: rows.findIndex((r) => isPrefix(c, r)), length: c.length };
  });
  const contextOf = tokens.map((t) => t.map((_, k) => contextIndex.get(key(t.slice(0, k)))!));
  return { tokens, rows, contexts, contextOf, maxRow: Math.max(...rows.map((r) => r.length)) };
}

/**
 * The question's ids without the closing special token(s), its first `room` tokens. An empty question
 * keeps `</s>` as its one token: position 0 sees the whole row (the post-CLS rule), so it cannot predict.
 */
export function questionIds(tok: TextTokenizer, question: string, room: number): number[] {
  const e = tok.encode(question, { pad: false, maxLength: Math.max(tok.maxLength, 512) });
  let n = e.length;
  while (n > 1 && e.specialTokensMask[n - 1] === 1) n--;
  if (n < 2) return [e.ids[0]!, tok.specialIds.sep];
  return Array.from(e.ids.subarray(0, Math.min(n, room)));
}

/**
 * Scores [B, C]: log p(answer | image, question) of every answer of the plan. image: [B, 3, S, S].
 * Differentiable (the training loss is a softmax over them).
 */
export function lmAnswerScores(model: FLMModel, tok: TextTokenizer, plan: AnswerPlan, image: Tensor, questions: readonly string[]): Tensor {
  return tidy(() => {
    const B = questions.length;
    if (image.shape[0] !== B) throw new RangeError(`lmAnswerScores: ${image.shape[0]} image(s) for ${B} question(s)`);
    const P = plan.rows.length;
    const U = plan.contexts.length;
    const C = plan.tokens.length;
    const room = model.config.max_text_len - plan.maxRow;
    if (room < 2) throw new DataError(`the model's text length (${model.config.max_text_len}) leaves no room for a question before the longest answer`);
    const qs = questions.map((q) => questionIds(tok, q, room));
    const L = Math.max(...qs.map((q) => q.length)) + plan.maxRow;
    const ids = new Int32Array(B * P * L).fill(tok.specialIds.pad);
    const mask = new Int32Array(B * P * L);
    qs.forEach((q, b) => plan.rows.forEach((r, p) => {
      const o = (b * P + p) * L;
      [...q, ...r].forEach((t, i) => { ids[o + i] = t; mask[o + i] = 1; });
    }));
    const rowImage = tensor(Int32Array.from({ length: B * P }, (_, i) => Math.floor(i / P)), { dtype: 'int64' });
    const img = captionImageTokens(model, image).indexSelect(0, rowImage); // [B·P, N_img, H]
    const idsT = tensor(ids, { shape: [B * P, L], dtype: 'int64' });
    const maskT = tensor(mask, { shape: [B * P, L], dtype: 'int64' });
    const f = forwardStream(model, img, idsT, toAdditive(forwardMask(maskT))); // [B·P, L, H]
    const H = f.shape[2]!;
    // the hidden state that predicts each context's next token: the question's last token + the context
    const at = Int32Array.from({ length: B * U }, (_, i) => {
      const b = Math.floor(i / U);
      const u = plan.contexts[i % U]!;
      return (b * P + u.row) * L + qs[b]!.length - 1 + u.length;
    });
    const hidden = f.reshape([B * P * L, H]).indexSelect(0, tensor(at, { dtype: 'int64' })); // [B·U, H]
    const logp = forwardHead(model).forward(hidden).logSoftmax(-1); // [B·U, V]
    const V = logp.shape[1]!;
    const K = Math.max(...plan.tokens.map((t) => t.length));
    const pick = new Int32Array(B * C * K);
    const keep = new Float32Array(B * C * K);
    for (let b = 0; b < B; b++) {
      plan.tokens.forEach((t, c) => t.forEach((id, k) => {
        const i = (b * C + c) * K + k;
        pick[i] = (b * U + plan.contextOf[c]![k]!) * V + id;
        keep[i] = 1;
      }));
    }
    const tokenLogp = logp.reshape([B * U * V]).indexSelect(0, tensor(pick, { dtype: 'int64' })); // [B·C·K]
    return tokenLogp.mul(tensor(keep).to(tokenLogp.dtype)).reshape([B, C, K]).sum(-1); // [B, C]
  });
}
