// The FLM mask view: the forward, reverse and reconstructor attention masks of one caption, computed
// with the library's own mask code (objectives/masks.ts flmMasks, span-corruption.ts). The span draws
// are sampled on libtorch's default generator after manualSeed(seed), exactly as corruptedBiMask
// samples them during training, and handed to flmMasks, so the page can also show each token's span.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { manualSeed, tensor, tidy, type Tensor } from '../tensor/index.js';
import { biMask, corruptionParams, flmMasks, forwardMask, reverseMask, sampleSpanDraws } from '../objectives/index.js';
import { TextTokenizer } from '../data/tokenizer.js';
import { trainTokenizer } from '../data/tokenizer-train.js';
import { preprocessCaption } from '../data/text.js';
import type { RunsRoot } from './paths.js';

/** Longest token sequence drawn (special tokens included): a 2L-wide grid stays legible. */
export const MAX_MASK_TOKENS = 40;

export interface MaskRequest {
  text: string;
  rate: number;
  seed: number;
  keepOneVisible: boolean;
  /** a run id whose tokenizer.json is used, or null for the byte-level default */
  tokenizer: string | null;
}

export interface TokenSpan {
  /** the target position (row of the reconstructor mask) */
  q: number;
  /** extra corrupted context tokens drawn for this row, and how many of them lie left of q */
  m: number;
  left: number;
  /** blocked forward key columns [from, to] (inclusive), or null */
  forward: [number, number] | null;
  /** blocked reverse key columns [from, to] (inclusive, in the 2L-wide reconstructor mask), or null */
  reverse: [number, number] | null;
}

export interface MaskView {
  text: string;
  tokenizer: string;
  tokens: string[];
  L: number;
  rate: number;
  seed: number;
  keepOneVisible: boolean;
  /** rows of '1' (allowed) and '0' (blocked): forward and reverse [L][L], reconstructor [L][2L] */
  forward: string[];
  reverse: string[];
  reconstructor: string[];
  /** the reconstructor mask at rate 0 (what the spans start from) */
  reconstructorRate0: string[];
  spans: TokenSpan[];
}

export class MaskRequestError extends Error {
  override readonly name = 'MaskRequestError';
}

let byteLevel: Promise<TextTokenizer> | null = null;
const fromRuns = new Map<string, { mtimeMs: number; tok: TextTokenizer }>();

/** A pure byte-level BPE (the 256 byte symbols, no merges): what an untrained run would start from. */
function byteLevelTokenizer(): Promise<TextTokenizer> {
  byteLevel ??= trainTokenizer([], { kind: 'bpe', vocabSize: 261 }).then((json) => new TextTokenizer(json, { maxLength: MAX_MASK_TOKENS }));
  return byteLevel;
}

async function tokenizerOf(root: RunsRoot, id: string | null): Promise<{ name: string; tok: TextTokenizer }> {
  if (id === null) return { name: 'byte-level BPE (no merges)', tok: await byteLevelTokenizer() };
  const path = join(root.resolve(id), 'tokenizer.json');
  const real = root.resolve(root.idOf(path));
  const mtimeMs = statSync(real).mtimeMs;
  const hit = fromRuns.get(real);
  if (hit && hit.mtimeMs === mtimeMs) return { name: `${id}/tokenizer.json`, tok: hit.tok };
  let tok: TextTokenizer;
  try {
    tok = new TextTokenizer(JSON.parse(readFileSync(real, 'utf8')), { maxLength: MAX_MASK_TOKENS });
  } catch (e) {
    throw new MaskRequestError(`${id}/tokenizer.json cannot be read: ${(e as Error).message}`);
  }
  fromRuns.set(real, { mtimeMs, tok });
  return { name: `${id}/tokenizer.json`, tok };
}

const rows = (allowed: Tensor): string[] => {
  const [, , L, K] = allowed.shape as [number, number, number, number];
  const flat = allowed.toFlatArray();
  return Array.from({ length: L }, (_, q) => flat.slice(q * K, (q + 1) * K).map((v) => (v ? '1' : '0')).join(''));
};

/** Token text for display: byte-level BPE marks a leading space with 'Ġ'. */
const shown = (t: string): string => t.replace(/\u0120/g, '·');

export async function maskView(root: RunsRoot, r: MaskRequest): Promise<MaskView> {
  if (!(r.rate >= 0 && r.rate <= 1)) throw new MaskRequestError(`the corruption rate must be in [0, 1], got ${r.rate}`);
  if (!Number.isSafeInteger(r.seed) || r.seed < 0) throw new MaskRequestError(`the seed must be a non-negative integer, got ${r.seed}`);
  if (r.text.trim() === '') throw new MaskRequestError('type a caption');
  const { name, tok } = await tokenizerOf(root, r.tokenizer);
  const text = preprocessCaption(r.text);
  const enc = tok.encode(text, { pad: false });
  const L = enc.length;
  return tidy(() => {
    const textMasks = tensor([Array.from(enc.attentionMask)], { dtype: 'int64' }); // [1, L]
    const fwd = forwardMask(textMasks); // [1, 1, L, L]
    const bi0 = biMask(fwd, reverseMask(textMasks, fwd)); // [1, 1, L, 2L]
    manualSeed(r.seed);
    const draws = sampleSpanDraws(corruptionParams(bi0, r.rate)); // m, left: [1, 1, L]
    const masks = flmMasks(textMasks, { rate: r.rate, draws, keepOneVisible: r.keepOneVisible }); // additive: 0 = allowed
    const m = draws.m.toFlatArray();
    const left = draws.left.toFlatArray();
    const spans: TokenSpan[] = [];
    for (let q = 1; q < L; q++) {
      // applySpans: s = max(q - left, 0) blocks forward s..q-1; e = min(s + L + m, 2L-1) blocks reverse L+q+1..e
      const s = Math.max(q - left[q]!, 0);
      const e = Math.min(s + L + m[q]!, 2 * L - 1);
      spans.push({
        q, m: m[q]!, left: left[q]!,
        forward: s <= q - 1 ? [s, q - 1] : null,
        reverse: L + q + 1 <= e ? [L + q + 1, e] : null,
      });
    }
    return {
      text, tokenizer: name, tokens: enc.tokens.map(shown), L, rate: r.rate, seed: r.seed, keepOneVisible: r.keepOneVisible,
      forward: rows(masks.fwd.eq(0)), reverse: rows(masks.rev.eq(0)), reconstructor: rows(masks.bi.eq(0)), reconstructorRate0: rows(bi0),
      spans,
    };
  });
}
