// MLM input corruption at any rate (spec §D.4): whole-word selection with a fixed count per caption,
// then 80% <mask> / 10% random id / 10% unchanged per selected token. Random numbers come from the
// engine's default generator, so manualSeed makes it deterministic.
//
// Default ("sensible"): candidates are the real, non-special tokens; tokens sharing a word id (from
// the tokenizer's word_ids(); -1 / null for specials) form one unit; per caption
// num = max(1, round(n_candidates · rate)) tokens are selected by shuffling the words and taking whole
// words greedily, skipping a word that would overflow (HF `DataCollatorForWholeWordMask`).
//
// compat 'official' reproduces the released RoBERTa behaviour (§D.4): `[CLS]`/`[SEP]`/`##` never
// occur in RoBERTa text, so every one of the L padded positions is its own candidate;
// num = max(1, round(L · rate)) with Python's half-to-even rounding; selected specials and pads are
// then dropped (so fewer real tokens are masked, a hypergeometric count).
import { type Tensor, F, arange, bernoulli, rand, randint, tensor, tidy, zeros } from '../tensor/index.js';

export interface MlmMaskingOptions {
  /** mlm_prob (official default 0.15) */
  rate?: number;
  /** the <mask> id */
  maskId: number;
  /** random replacements are uniform in [0, vocabSize) (official: len(tokenizer), specials included) */
  vocabSize: number;
  /** special ids: never selected (default), or dropped after selection (compat 'official') */
  specialIds?: readonly number[];
  /** the pad id (RoBERTa: 1) */
  padId?: number;
  /** per-token word ids [B, L] (-1 or null for specials and pads); omitted: every token is a word */
  wordIds?: Tensor | readonly (readonly (number | null)[])[];
  compat?: 'official';
}

export interface MlmMasked {
  /** corrupted ids (`text_ids_mlm`) [B, L] int64 */
  inputIds: Tensor;
  /** original id at selected positions, -100 elsewhere (`text_labels_mlm`) [B, L] int64 */
  labels: Tensor;
  /** the selected positions [B, L] bool */
  selected: Tensor;
}

/** Python's round(): half to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Masks textIds [B, L] (textMasks [B, L]: 1 on real tokens) for MLM. */
export function mlmMask(textIds: Tensor, textMasks: Tensor, opts: MlmMaskingOptions): MlmMasked {
  return tidy(() => {
    const ids = textIds.to('int64'); // [B, L]
    const special = specialTokens(ids, textMasks, opts); // [B, L] bool: specials and pads
    const selected = opts.compat === 'official' ? officialSelection(ids, special, opts.rate ?? 0.15) : wholeWordSelection(ids, special, opts);
    return corrupt(ids, selected, opts);
  });
}

function specialTokens(ids: Tensor, textMasks: Tensor, opts: MlmMaskingOptions): Tensor {
  let s = textMasks.eq(0).logicalOr(ids.eq(opts.padId ?? 1)); // [B, L]
  for (const id of opts.specialIds ?? []) s = s.logicalOr(ids.eq(id));
  return s;
}

/** compat 'official': num = max(1, round(L·rate)) of all L positions, then specials/pads dropped. */
function officialSelection(ids: Tensor, special: Tensor, rate: number): Tensor {
  const [B, L] = ids.shape as [number, number];
  const num = Math.max(1, roundHalfEven(L * rate));
  const rank = rand([B, L], { device: ids.device }).argsort(-1).argsort(-1); // [B, L] random rank of each position
  return rank.lt(num).logicalAnd(special.logicalNot()); // [B, L]
}

function wordIdTensor(w: MlmMaskingOptions['wordIds'], like: Tensor): Tensor | undefined {
  if (w === undefined) return undefined;
  if (!Array.isArray(w)) return (w as Tensor).to('int64');
  const rows = w as readonly (readonly (number | null)[])[];
  return tensor(rows.map((r) => r.map((v) => v ?? -1)), { dtype: 'int64', device: like.device });
}

/** Default: whole words, num = max(1, round(n_candidates·rate)) per caption, greedy with overflow skip. */
function wholeWordSelection(ids: Tensor, special: Tensor, opts: MlmMaskingOptions): Tensor {
  const [B, L] = ids.shape as [number, number];
  const rate = opts.rate ?? 0.15;
  const wordIds = wordIdTensor(opts.wordIds, ids) ?? arange(L, undefined, 1, { device: ids.device }).unsqueeze(0).expand(B, L); // [B, L]
  const cand = special.logicalNot().logicalAnd(wordIds.ge(0)); // [B, L]
  // word slots: a candidate starts a new word unless the previous token is a candidate of the same word
  const prevWord = wordIds.roll(1, 1); // [B, L]
  const prevCand = cand.roll(1, 1).logicalAnd(arange(L, undefined, 1, { device: ids.device }).ge(1)); // [B, L]
  const starts = cand.logicalAnd(prevCand.logicalAnd(prevWord.eq(wordIds)).logicalNot()); // [B, L]
  const slot = starts.to('int64').cumsum(1).sub(1).where(cand, L); // [B, L]; non-candidates -> dump slot L
  const sizes = zeros([B, L + 1], { dtype: 'int64', device: ids.device }).scatterAdd(1, slot, cand.to('int64')).narrow(1, 0, L); // [B, L]
  const nCand = cand.sum(1); // [B]
  const num = rate > 0 ? nCand.to('float64').mul(rate).round().to('int64').clamp(1).minimum(nCand) : nCand.mul(0); // [B]
  const keys = rand([B, L], { device: ids.device }).where(sizes.gt(0), 2); // [B, L]; empty slots last
  const order = keys.argsort(-1); // [B, L] shuffled word order
  const sortedSizes = sizes.gather(1, order); // [B, L]
  const takeSorted = greedyTake(sortedSizes, num); // [B, L] bool
  const takeSlot = zeros([B, L + 1], { dtype: 'bool', device: ids.device }).scatter(1, order, takeSorted); // [B, L+1]
  return takeSlot.gather(1, slot).logicalAnd(cand); // [B, L]
}

/**
 * Greedy whole-word pick in shuffled order: take word j while the count stays <= num, skip a word that
 * would overflow. Single-token words reduce to "the first num words"; otherwise one step per word
 * rank (at most L), each vectorised over the batch.
 */
function greedyTake(sortedSizes: Tensor, num: Tensor): Tensor {
  const [B, L] = sortedSizes.shape as [number, number];
  if (sortedSizes.max().item() <= 1) {
    const rank = arange(L, undefined, 1, { device: sortedSizes.device }).unsqueeze(0); // [1, L]
    return rank.lt(num.unsqueeze(1)).logicalAnd(sortedSizes.gt(0)); // [B, L]
  }
  const words = sortedSizes.gt(0).sum(1).max().item();
  let count = zeros([B], { dtype: 'int64', device: sortedSizes.device }); // [B]
  const cols: Tensor[] = [];
  for (let j = 0; j < words; j++) {
    const size = sortedSizes.select(1, j); // [B]
    const fits = count.add(size).le(num).logicalAnd(count.lt(num)).logicalAnd(size.gt(0)); // [B]
    count = count.add(size.where(fits, 0));
    cols.push(fits);
  }
  for (let j = words; j < L; j++) cols.push(zeros([B], { dtype: 'bool', device: sortedSizes.device }));
  return F.stack(cols, 1); // [B, L]
}

/** 80/10/10 as HF `mask_tokens`: Bernoulli(0.8) -> <mask>; else Bernoulli(0.5) -> random id; else kept. */
function corrupt(ids: Tensor, selected: Tensor, opts: MlmMaskingOptions): MlmMasked {
  const shape = ids.shape;
  const labels = ids.where(selected, -100); // [B, L]
  const replaced = bernoulli(zeros(shape, { device: ids.device }), 0.8).bool().logicalAnd(selected); // [B, L]
  let inputs = ids.where(replaced.logicalNot(), opts.maskId); // [B, L]
  const randomPick = bernoulli(zeros(shape, { device: ids.device }), 0.5).bool().logicalAnd(selected).logicalAnd(replaced.logicalNot()); // [B, L]
  const randomWords = randint(0, opts.vocabSize, shape, { dtype: 'int64', device: ids.device }); // [B, L]
  inputs = randomWords.where(randomPick, inputs);
  return { inputIds: inputs, labels, selected };
}
