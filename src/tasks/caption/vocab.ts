// Vocabulary growth of a checkpoint (spec B.11 `adapt_vocab_size`): the word-embedding rows and the
// LM-head decoder and bias rows beyond the checkpoint's vocabulary are drawn from N(0, 0.02), biases
// included. Used when caption fine-tuning adds `<bos>` / `<eos>` (D.11).
import { F, Tensor, noGrad, randn, tidy } from '../../tensor/index.js';

const VOCAB_KEY = /(^|\.)word_embeddings\.weight$|^(lm_score|lm_score_r|lm_score_f|mlm_score)\.(decoder\.weight|bias)$/;

/** The official aliases name one tensor several times; they must get the same new rows. */
function canonical(name: string): string {
  return name
    .replace(/^text_transformer2\./, 'text_transformer.')
    .replace(/^fusion_token_embedding\./, 'text_transformer.embeddings.')
    .replace(/^lm_score_[rf]\./, 'lm_score.');
}

/**
 * A copy of the state dict with every vocabulary-sized tensor (first dim oldV) grown to newV rows.
 * New tensors are the caller's to free (`grown` names them); other entries are the input tensors.
 */
export function growVocab(sd: Map<string, Tensor>, oldV: number, newV: number): { tensors: Map<string, Tensor>; grown: string[] } {
  if (newV < oldV) throw new RangeError(`growVocab: cannot shrink the vocabulary from ${oldV} to ${newV}`);
  const out = new Map(sd);
  const grown: string[] = [];
  if (newV === oldV) return { tensors: out, grown };
  const rows = new Map<string, Tensor>();
  noGrad(() => {
    for (const [name, t] of sd) {
      if (!VOCAB_KEY.test(name) || t.shape[0] !== oldV) continue;
      const key = canonical(name);
      let extra = rows.get(key);
      if (!extra) {
        extra = tidy(() => randn([newV - oldV, ...t.shape.slice(1)], { dtype: t.dtype }).mul(0.02)); // [newV - oldV, ...]
        rows.set(key, extra);
      }
      out.set(name, F.cat([t, extra], 0)); // [newV, ...]
      grown.push(name);
    }
  });
  for (const t of rows.values()) t.dispose();
  return { tensors: out, grown };
}
