// Caption text for fine-tuning and decoding (spec D.11, E.4, H.14).
//
// A caption becomes `<s> <bos> w1 .. wn <eos> </s> <pad> ..`. The official recipe (`add_new_bos_token`,
// `prepend_bos_token`, `append_eos_token`) adds `<bos>` and `<eos>` as new tokens after the vocabulary
// (V -> V + 2) and grows the embedding and LM-head rows (caption-vocab.ts). Here the ids are spliced
// around the caption's own tokens instead of tokenizing the string "<bos> caption <eos>": HF 4.6 strips
// the spaces next to an added token (H.14), so w1 is tokenized as the start of a text, exactly as in
// pretraining; splicing gives that result with any tokenizer.
//
// mode 'existing' reuses `<s>` as bos and `</s>` as eos (`<s> <s> w.. </s> </s>`), for tokenizers that
// should not grow; the model then needs no new rows.
import { readFileSync } from 'node:fs';
import { TextTokenizer, TokenizerError } from '../../data/tokenizer.js';
import type { CaptionTokens } from '../../data/caption-text.js';

// the caption text itself lives in data/ (browser-safe: the in-browser library encodes captions too)
export { encodeCaptions, decodeCaption, type CaptionTokens, type EncodedCaptions } from '../../data/caption-text.js';

export const BOS_TOKEN = '<bos>';
export const EOS_TOKEN = '<eos>';

/** The caption tokens a tokenizer already has: `<bos>`/`<eos>` when present, else null. */
export function findCaptionTokens(tok: TextTokenizer): CaptionTokens | null {
  const bos = tok.tokenToId(BOS_TOKEN);
  const eos = tok.tokenToId(EOS_TOKEN);
  return bos !== undefined && eos !== undefined ? { mode: 'added', bos, eos } : null;
}

export function existingCaptionTokens(tok: TextTokenizer): CaptionTokens {
  return { mode: 'existing', bos: tok.specialIds.cls, eos: tok.specialIds.sep };
}

type TokenizerJson = Record<string, unknown> & { added_tokens?: unknown[] };

export function readTokenizerJson(path: string): TokenizerJson {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerError(`cannot read tokenizer file ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as TokenizerJson;
  } catch (e) {
    throw new TokenizerError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * A copy of a tokenizer.json with `<bos>` and `<eos>` appended as special added tokens at ids V and
 * V + 1 (HF `add_special_tokens`), V = the tokenizer's vocabulary size. Returns the JSON unchanged
 * when both tokens are already there.
 */
export function addCaptionTokens(json: TokenizerJson, maxLength: number): { json: TokenizerJson; tokenizer: TextTokenizer; tokens: CaptionTokens } {
  const base = new TextTokenizer(json, { maxLength });
  const have = findCaptionTokens(base);
  if (have) return { json, tokenizer: base, tokens: have };
  if (base.tokenToId(BOS_TOKEN) !== undefined || base.tokenToId(EOS_TOKEN) !== undefined) {
    throw new TokenizerError(`the tokenizer has only one of ${BOS_TOKEN} / ${EOS_TOKEN}; cannot add caption tokens cleanly`);
  }
  const V = base.vocabSize;
  if (base.idToToken(V) !== undefined || base.idToToken(V + 1) !== undefined) {
    throw new TokenizerError(`the tokenizer's ids are not contiguous (id ${V} is taken); cannot append ${BOS_TOKEN} / ${EOS_TOKEN}`);
  }
  const added = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const out: TokenizerJson = { ...json, added_tokens: [...(json.added_tokens ?? []), added(BOS_TOKEN, V), added(EOS_TOKEN, V + 1)] };
  const tokenizer = new TextTokenizer(out, { maxLength });
  const tokens = findCaptionTokens(tokenizer);
  if (!tokens || tokens.bos !== V || tokens.eos !== V + 1 || tokenizer.vocabSize !== V + 2) {
    throw new TokenizerError(`adding ${BOS_TOKEN} / ${EOS_TOKEN} did not give ids ${V}, ${V + 1}`);
  }
  return { json: out, tokenizer, tokens };
}
