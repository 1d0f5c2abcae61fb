// Caption text as the caption model reads and writes it (spec D.11, E.4, H.14): `<s> <bos> w.. <eos> </s>`
// rows for training and scoring, and generated ids back to text. Tensor- and Node-free: the fine-tuning
// and inference code (tasks/caption/tokens.ts re-exports it) and the in-browser library (src/web) share it.
import { TokenizerError, type TextTokenizer } from './tokenizer.js';

export interface CaptionTokens {
  mode: 'added' | 'existing';
  /** the prompt token after `<s>` (official caption_prompt '<bos>') */
  bos: number;
  /** the token the caption ends with; decoding also stops at `</s>` (D.11 step 3) */
  eos: number;
}

export interface EncodedCaptions {
  ids: Int32Array; // [B, L] row-major
  mask: Int32Array; // [B, L] 1 on real tokens
  shape: [number, number];
}

/**
 * `<s> <bos> w.. <eos> </s> <pad>..` for each caption (already preprocessed, spec E.4), padded to L;
 * the words are truncated to L - 4 tokens.
 */
export function encodeCaptions(tok: TextTokenizer, ct: CaptionTokens, texts: readonly string[], L: number): EncodedCaptions {
  if (L < 5) throw new RangeError(`encodeCaptions: text length ${L} leaves no room for words`);
  const { cls, sep, pad } = tok.specialIds;
  const unk = tok.specialIds.unk;
  const ids = new Int32Array(texts.length * L).fill(pad);
  const mask = new Int32Array(texts.length * L);
  texts.forEach((text, b) => {
    const words = tok.tokenize(text).slice(0, L - 4).map((t) => {
      const id = tok.tokenToId(t) ?? unk;
      if (id === undefined) throw new TokenizerError(`token "${t}" is not in the vocabulary and the tokenizer has no unk token`);
      return id;
    });
    const row = [cls, ct.bos, ...words, ct.eos, sep];
    ids.set(row, b * L);
    mask.fill(1, b * L, b * L + row.length);
  });
  return { ids, mask, shape: [texts.length, L] };
}

/** Generated ids (prompt and stop token excluded) as text. */
export function decodeCaption(tok: TextTokenizer, ids: readonly number[]): string {
  return tok.decode(ids, { skipSpecialTokens: true }).trim();
}
