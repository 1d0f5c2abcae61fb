// Fast probes of a pretrained checkpoint for `flm compare` (no fine-tuning), each scored on a fixed set
// of held-out images so the checkpoints of every objective, seed and time are measured the same way:
//
//   zs_i2t_r1 / zs_t2i_r1   zero-shot K-way retrieval scored by the objective's own per-caption loss:
//                           images in groups of K with one caption each; per image the K captions of its
//                           group compete (I2T), per caption the K images (T2I); R@1 of the K-way choice.
//                           A generative loss carries priors: some captions are cheap whatever the image,
//                           some images make every caption cheap. Each candidate's loss is therefore
//                           taken relative to its leave-one-out mean in the group's K x K matrix (the
//                           caption's mean over the other images for I2T, the image's mean over the other
//                           captions for T2I); zs_*_raw are the same choices on the raw losses.
//   mp_<kind>, mp_mean      minimal image pairs (shapes world): one caption under its own scene and under the
//                           scene with one edit that makes the caption false (an object recoloured, reshaped,
//                           resized or removed, or the scene mirrored; the checker decides), both rendered
//                           the same way. Correct when the edit raises the caption's loss more than it
//                           raises the loss of reference captions (of other images, false of both scenes),
//                           which removes the image's own prior; the caption's likelihood cancels exactly
//                           as it is the same on both sides (chance 0.5).
//   lp_<attr>               frozen-feature linear probe (shapes world): multinomial logistic regression on
//                           the image tower's features [CLS ; mean of the patch tokens] (every objective
//                           trains this tower), fitted on one split and scored on the test images.
//
// Per-caption losses (lower = better match):
//   flm       the combined FLM loss (rec + w·l2r + w·r2l)/(1 + w + w) without span corruption (zero-shot.ts)
//   ar        caption NLL under the causal one-stream model (zero-shot.ts)
//   mlm       pseudo-log-likelihood, by default one word at a time: one pass per word with that word's
//             tokens as <mask> and the others visible, the mean NLL over all the masked tokens (the
//             standard scorer, Salazar et al. 2020, with whole words as MLM trained here). `mlmScoring:
//             'passes'` instead uses P fixed, disjoint whole-word maskings: pass p masks the words with
//             index ≡ p (mod P) (cheaper, but ~1/P of the words are hidden at once, all as <mask>, where
//             training hid 15% with 80/10/10 replacement). Both are deterministic (no random draws, so
//             the pairs can be batched freely).
//   prefixlm  suffix NLL after a fixed prefix of half the caption
import { linearProbe } from './linear-probe.js';
import { concatRows, objectRowsOf, objectShapeProbe, type ObjectTokenRows } from './object-token-probe.js';
import { F, noGrad, tensor, tidy, zeros, type Tensor } from '../tensor/index.js';
import { FLMModel, SingleStreamModel, specialIds, type AnyFLMModel } from '../models/index.js';
import { labelledPositions, oneStreamMask, prefixLmLabels, prefixLmMask, toAdditive } from '../objectives/index.js';
import { openDataset } from '../data/spec.js';
import { ShapesSource } from '../data/formats/shapes.js';
import type { DatasetSource } from '../data/types.js';
import { preprocessText } from '../data/text.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { checkCaption, COLOURS, DEFAULT_HELD_OUT, SHAPES, SIZE_RADIUS, isHeldOut, renderScene, type Scene } from '../data/shapes/index.js';
import { normalizeClip } from '../data/image.js';
import { loadRetrievalSet } from '../tasks/retrieval/data.js';
import { zeroShotScorer } from '../tasks/retrieval/zero-shot.js';
import type { TextSlice } from '../tasks/retrieval/eval.js';
import type { PretrainObjective } from '../tasks/pretrain/objective-step.js';

// ------------------------------------------------------------------------------------------ data

/** Held-out images with their captions (and, for the shapes world, scene graphs and raw captions). */
export interface ProbeImages {
  /** [N, 3, S, S] CLIP-normalised, row-major */
  images: Float32Array;
  imageSize: number;
  count: number;
  /** preprocessed captions of each image (as the loader feeds them) */
  texts: string[][];
  /** shapes world only: raw captions (the checker parses these) and scenes */
  rawCaptions: string[][] | null;
  scenes: Scene[] | null;
}

export function imagePlane(p: ProbeImages, i: number): Float32Array {
  const plane = 3 * p.imageSize * p.imageSize;
  return p.images.subarray(i * plane, (i + 1) * plane);
}

/** Decodes the first `limit` images of a caption dataset spec (scenes too when it is the shapes world). */
export async function loadProbeImages(spec: string, imageSize: number, limit: number, o: { workers?: number } = {}): Promise<ProbeImages> {
  const set = await loadRetrievalSet(spec, imageSize, { limit, workers: o.workers ?? 1 });
  const byImage = new Map<string, string[]>();
  set.imageIds.forEach((id) => byImage.set(id, []));
  set.texts.forEach((t, k) => byImage.get(set.textImageIds[k]!)?.push(t));
  const src: DatasetSource = await openDataset(spec);
  const close = async (): Promise<void> => src.close?.();
  let scenes: Scene[] | null = null;
  let rawCaptions: string[][] | null = null;
  try {
    if (src instanceof ShapesSource) {
      const w = src.world;
      const index = new Map<string, number>();
      for (let i = 0; i < Math.min(w.length, limit + set.skipped); i++) index.set(w.id(i), i);
      const idx = set.imageIds.map((id) => index.get(id));
      if (idx.every((i) => i !== undefined)) {
        scenes = idx.map((i) => w.scene(i!));
        rawCaptions = idx.map((i, k) => w.captions(i!, scenes![k]));
      }
    }
  } finally {
    await close();
  }
  return { images: set.images, imageSize, count: set.imageIds.length, texts: set.imageIds.map((id) => byImage.get(id) ?? []), rawCaptions, scenes };
}

// ------------------------------------------------------------------------------------------ scoring

export interface ScoredPair {
  /** row of the probe image set */
  image: number;
  /** preprocessed caption */
  text: string;
}

/** Loss of each (image, caption) pair, lower = better match. */
export interface PairLossScorer {
  losses(pairs: readonly ScoredPair[]): Float32Array;
}

export type MlmScoring = 'one-word' | 'passes';
export const MLM_SCORINGS: readonly MlmScoring[] = ['one-word', 'passes'];

export interface ModelScorerOptions {
  /** pairs per forward pass (default 96) */
  batch?: number;
  /** MLM: one word masked at a time (default), or `mlmPasses` disjoint maskings at once */
  mlmScoring?: MlmScoring;
  /** MLM 'passes': number of disjoint whole-word maskings (default 4: every word predicted once, ~25% masked per pass) */
  mlmPasses?: number;
}

interface Encoded {
  ids: Int32Array;
  mask: Uint8Array;
  words: Int32Array;
  length: number;
}

/** Scores pairs with a pretrained model's own objective (model in eval mode, no gradients). */
export function modelPairScorer(model: AnyFLMModel, objective: PretrainObjective, tok: TextTokenizer, set: ProbeImages, o: ModelScorerOptions = {}): PairLossScorer {
  const batch = Math.max(1, o.batch ?? 96);
  const passes = Math.max(1, o.mlmPasses ?? 4);
  const cache = new Map<string, Encoded>();
  const enc = (t: string): Encoded => {
    let e = cache.get(t);
    if (!e) {
      const r = tok.encode(t);
      e = { ids: r.ids, mask: r.attentionMask, words: r.wordIds, length: r.length };
      cache.set(t, e);
    }
    return e;
  };
  const S = set.imageSize;
  const plane = 3 * S * S;
  const Lmax = tok.maxLength;
  if (objective === 'mlm' && (o.mlmScoring ?? 'one-word') === 'one-word') {
    if (!(model instanceof SingleStreamModel)) throw new Error('objective mlm needs a single-stream model');
    return { losses: (pairs) => mlmOneWordLosses(model, pairs.map((p) => ({ e: enc(p.text), image: p.image })), set, batch) };
  }
  return {
    losses(pairs) {
      const out = new Float32Array(pairs.length);
      for (let start = 0; start < pairs.length; start += batch) {
        const chunk = pairs.slice(start, start + batch);
        const P = chunk.length;
        const e = chunk.map((p) => enc(p.text));
        // trim the padding, keeping one pad column so every caption is framed the same way (R2L quirk)
        const L = Math.min(Lmax, Math.max(...e.map((x) => x.length)) + 1);
        const ids = new BigInt64Array(P * L);
        const mask = new BigInt64Array(P * L);
        const words = new BigInt64Array(P * L);
        const img = new Float32Array(P * plane);
        chunk.forEach((p, r) => {
          const x = e[r]!;
          for (let j = 0; j < L; j++) {
            ids[r * L + j] = BigInt(x.ids[j]!);
            mask[r * L + j] = BigInt(x.mask[j]!);
            words[r * L + j] = BigInt(x.words[j]!);
          }
          img.set(imagePlane(set, p.image), r * plane);
        });
        const l = noGrad(() => tidy(() => {
          const image = tensor(img, { shape: [P, 3, S, S] }); // [P, 3, S, S]
          const t = {
            ids: tensor(ids, { shape: [P, L], dtype: 'int64' }), // [P, L]
            masks: tensor(mask, { shape: [P, L], dtype: 'int64' }), // [P, L]
            wordIds: tensor(words, { shape: [P, L], dtype: 'int64' }), // [P, L]
          };
          return pairLosses(model, objective, image, t, passes);
        }));
        out.set(l, start);
      }
      return out;
    },
  };
}

/** Per-pair losses [P] of texts [P, L] given images [P, 3, S, S]. */
function pairLosses(model: AnyFLMModel, objective: PretrainObjective, image: Tensor, t: { ids: Tensor; masks: Tensor; wordIds: Tensor }, passes: number): Float32Array {
  const P = t.ids.size(0);
  if (objective === 'flm' || objective === 'ar') {
    // zero-shot.ts: deterministic for these two objectives, so any batch of pairs gives the same losses;
    // its scores are minus the losses
    const slice: TextSlice = { ids: t.ids, masks: t.masks, wordIds: t.wordIds, start: 0, count: P };
    return Float32Array.from(zeroShotScorer(model, objective).score(image, 0, slice), (score) => -score);
  }
  if (!(model instanceof SingleStreamModel)) throw new Error(`objective ${objective} needs a single-stream model`);
  const ids = specialIds(model.config);
  return tidy(() => {
    if (objective === 'prefixlm') {
      const n = t.masks.sum(1); // [P] real tokens
      const prefix = n.div(2).floor().clamp(1).to('int64'); // [P]
      const out = model.forward({ image, textIds: t.ids, textMask: toAdditive(prefixLmMask(t.masks, prefix)) });
      const L = t.ids.size(1);
      return rowMeanNll(model.lmLogits(out.textFeats).narrow(1, 0, L - 1), prefixLmLabels(t.ids, t.masks, prefix), -100).toTypedArray() as Float32Array;
    }
    // MLM pseudo-log-likelihood: disjoint fixed whole-word maskings, every word predicted once
    const special = t.masks.eq(0).logicalOr(t.ids.eq(ids.bos)).logicalOr(t.ids.eq(ids.eos)).logicalOr(t.ids.eq(ids.pad));
    const cand = t.wordIds.ge(0).logicalAnd(special.logicalNot()); // [P, L]
    let sum: Tensor | null = null;
    let count: Tensor | null = null;
    for (let p = 0; p < passes; p++) {
      const sel = cand.logicalAnd(t.wordIds.remainder(passes).eq(p)); // [P, L]
      const input = t.ids.where(sel.logicalNot(), ids.mask); // [P, L]
      const labels = t.ids.where(sel, -100); // [P, L]
      const out = model.forward({ image, textIds: input, textMask: oneStreamMask(t.masks, { causal: false }) });
      const s = rowSumNll(model.mlmLogits(out.textFeats), labels, -100); // [P]
      const c = sel.sum(1).to('float32'); // [P]
      sum = sum ? sum.add(s) : s;
      count = count ? count.add(c) : c;
    }
    return sum!.div(count!.clamp(1)).toTypedArray() as Float32Array;
  });
}

/**
 * MLM pseudo-log-likelihood one word at a time: for every word of a caption, one forward pass with that
 * word's tokens as <mask> and the rest visible; the loss is the mean NLL over all the words' tokens.
 * The (pair, word) rows of all the pairs are batched together, `batch` rows per forward pass, sorted so
 * that the rows of one caption with one word masked sit together: the text encoder (which does not see
 * the image) runs once per such variant and the image tower once per image of the chunk; only the
 * cross-modal layers run per row.
 */
function mlmOneWordLosses(model: SingleStreamModel, pairs: readonly { e: Encoded; image: number }[], set: ProbeImages, batch: number): Float32Array {
  const ids = specialIds(model.config);
  const special = new Set([ids.bos, ids.eos, ids.pad]);
  const textOf = new Map<Encoded, number>();
  const rows: { pair: number; word: number; text: number }[] = [];
  pairs.forEach(({ e }, pair) => {
    if (!textOf.has(e)) textOf.set(e, textOf.size);
    const words = new Set<number>();
    for (let j = 0; j < e.length; j++) if (e.mask[j] && e.words[j]! >= 0 && !special.has(e.ids[j]!)) words.add(e.words[j]!);
    for (const word of [...words].sort((a, b) => a - b)) rows.push({ pair, word, text: textOf.get(e)! });
  });
  rows.sort((a, b) => a.text - b.text || a.word - b.word || a.pair - b.pair);
  const sum = new Float64Array(pairs.length);
  const count = new Float64Array(pairs.length);
  const S = set.imageSize;
  const plane = 3 * S * S;
  for (let start = 0; start < rows.length; start += batch) {
    const chunk = rows.slice(start, start + batch);
    const R = chunk.length;
    const L = Math.min(model.config.max_text_len, Math.max(...chunk.map((r) => pairs[r.pair]!.e.length)) + 1);
    // distinct (caption, masked word) variants and distinct images of the chunk, and each row's of both
    const variantKey = (r: { text: number; word: number }): string => `${r.text}:${r.word}`;
    const variants = [...new Map(chunk.map((r) => [variantKey(r), r])).values()];
    const variantSlot = new Map(variants.map((v, u) => [variantKey(v), u]));
    const distinct = [...new Set(chunk.map((r) => pairs[r.pair]!.image))];
    const imageSlot = new Map(distinct.map((im, u) => [im, u]));
    const V = variants.length;
    const input = new BigInt64Array(V * L);
    const mask = new BigInt64Array(V * L);
    const labels = new BigInt64Array(V * L).fill(-100n);
    variants.forEach(({ pair, word }, v) => {
      const { e } = pairs[pair]!;
      for (let j = 0; j < L; j++) {
        const hidden = e.mask[j] === 1 && e.words[j] === word && !special.has(e.ids[j]!);
        input[v * L + j] = BigInt(hidden ? ids.mask : e.ids[j]!);
        mask[v * L + j] = BigInt(e.mask[j]!);
        if (hidden) labels[v * L + j] = BigInt(e.ids[j]!);
      }
    });
    const img = new Float32Array(distinct.length * plane);
    distinct.forEach((im, u) => img.set(imagePlane(set, im), u * plane));
    const rowVariant = BigInt64Array.from(chunk, (r) => BigInt(variantSlot.get(variantKey(r))!));
    const rowImage = BigInt64Array.from(chunk, (r) => BigInt(imageSlot.get(pairs[r.pair]!.image)!));
    chunk.forEach((r) => {
      const v = variantSlot.get(variantKey(r))!;
      for (let j = 0; j < L; j++) if (labels[v * L + j] !== -100n) count[r.pair]! += 1;
    });
    const nll = noGrad(() => tidy(() => {
      const byVariant = tensor(rowVariant, { shape: [R], dtype: 'int64' }); // [R]
      const byImage = tensor(rowImage, { shape: [R], dtype: 'int64' }); // [R]
      const textMask = oneStreamMask(tensor(mask, { shape: [V, L], dtype: 'int64' }), { causal: false }); // [V, 1, 1, L]
      const textIds = tensor(input, { shape: [V, L], dtype: 'int64' }); // [V, L]
      const bottom = model.encodeText(textIds, textMask).indexSelect(0, byVariant); // [R, L, Ht]
      const images = tensor(img, { shape: [distinct.length, 3, S, S] }); // [U, 3, S, S]
      const embeds = model.vit_model.forward(images); // [U, N_img, Wv]
      const out = model.forward({
        image: images.indexSelect(0, byImage), imageEmbeds: embeds.indexSelect(0, byImage), crossImage: model.crossImageTokens(embeds).indexSelect(0, byImage),
        bottom, textIds: textIds.indexSelect(0, byVariant), textMask: textMask.indexSelect(0, byVariant),
      });
      // the head runs at the masked positions only (a few per row), not at all R x L
      const at = labelledPositions(tensor(labels, { shape: [V, L], dtype: 'int64' }).indexSelect(0, byVariant), -100); // [N] each
      const lp = model.mlmLogits(out.textFeats.index(at.b, at.q)).logSoftmax(-1).gather(-1, at.labels.unsqueeze(-1)).squeeze(-1); // [N]
      return zeros([R]).scatterAdd(0, at.b, lp.neg()).toTypedArray() as Float32Array; // [R]
    }));
    chunk.forEach(({ pair }, r) => { sum[pair]! += nll[r]!; });
  }
  return Float32Array.from(sum, (x, i) => x / Math.max(1, count[i]!));
}

/** Summed NLL per row of logits [B, T, V] against labels [B, T], skipping `ignore`: [B]. */
function rowSumNll(logits: Tensor, labels: Tensor, ignore: number): Tensor {
  return tidy(() => {
    const valid = labels.ne(ignore); // [B, T]
    const lp = logits.logSoftmax(-1).gather(-1, labels.where(valid, 0).unsqueeze(-1)).squeeze(-1); // [B, T]
    return F.where(valid, lp, 0).sum(1).neg(); // [B]
  });
}

function rowMeanNll(logits: Tensor, labels: Tensor, ignore: number): Tensor {
  return tidy(() => rowSumNll(logits, labels, ignore).div(labels.ne(ignore).sum(1).to('float32').clamp(1)));
}

// ------------------------------------------------------------------------------------------ zero-shot K-way retrieval

export interface KWayRetrieval {
  /** K-way R@1 of choosing the caption of an image among the captions of its group (caption prior removed) */
  i2t_r1: number;
  /** K-way R@1 of choosing the image of a caption among the images of its group (image prior removed) */
  t2i_r1: number;
  /** the same on the raw losses */
  i2t_raw: number;
  t2i_raw: number;
  way: number;
  groups: number;
  /** choices scored (distractors that the checker finds true for the query are left out) */
  i2t_n: number;
  t2i_n: number;
  /** per query, in group order: 1 for a hit, 0 for a miss (the means are the R@1s above) */
  items: { i2t: number[]; t2i: number[]; i2t_raw: number[]; t2i_raw: number[] };
}

/** The K-way retrieval plan: groups of `way` consecutive images, each with its first caption. */
export function kWayGroups(set: ProbeImages, images: number, way: number): number[][] {
  const usable = [...Array(Math.min(images, set.count)).keys()].filter((i) => (set.texts[i]?.length ?? 0) > 0);
  const groups: number[][] = [];
  for (let g = 0; g + way <= usable.length; g += way) groups.push(usable.slice(g, g + way));
  return groups;
}

/**
 * Zero-shot K-way retrieval. `alsoTrue(captionOf, image)`: the caption of image `captionOf` is also
 * true of `image` (shapes world: the checker); such distractors are not counted against the model.
 */
export function kWayRetrieval(scorer: PairLossScorer, set: ProbeImages, o: { images: number; way: number; alsoTrue?: (captionOf: number, image: number) => boolean }): KWayRetrieval {
  const way = Math.max(2, o.way);
  const groups = kWayGroups(set, o.images, way);
  if (groups.length === 0) throw new Error(`zero-shot retrieval needs at least ${way} test images with captions, got ${set.count}`);
  const pairs: ScoredPair[] = [];
  for (const g of groups) for (const i of g) for (const j of g) pairs.push({ image: i, text: set.texts[j]![0]! });
  const loss = scorer.losses(pairs);
  const items: KWayRetrieval['items'] = { i2t: [], t2i: [], i2t_raw: [], t2i_raw: [] };
  let n = 0;
  const confusable = (capOf: number, img: number): boolean => capOf !== img && (o.alsoTrue?.(capOf, img) ?? false);
  /** the query's own candidate must beat every counted distractor strictly */
  const wins = (own: number, others: readonly number[]): number => (others.every((v) => own < v) ? 1 : 0);
  groups.forEach((g, gi) => {
    const base = gi * way * way;
    const at = (a: number, b: number): number => loss[base + a * way + b]!; // image a, caption b (group positions)
    // leave-one-out priors: how likely image a makes the other captions, how likely the other images make caption b
    const imagePrior = (a: number, except: number): number => mean([...Array(way).keys()].filter((c) => c !== except).map((c) => at(a, c)));
    const captionPrior = (b: number, except: number): number => mean([...Array(way).keys()].filter((i) => i !== except).map((i) => at(i, b)));
    for (let a = 0; a < way; a++) {
      const capts = [...Array(way).keys()].filter((b) => b !== a && !confusable(g[b]!, g[a]!)); // I2T distractors
      const imgs = [...Array(way).keys()].filter((b) => b !== a && !confusable(g[a]!, g[b]!)); // T2I distractors
      items.i2t_raw.push(wins(at(a, a), capts.map((b) => at(a, b))));
      items.t2i_raw.push(wins(at(a, a), imgs.map((b) => at(b, a))));
      items.i2t.push(wins(at(a, a) - captionPrior(a, a), capts.map((b) => at(a, b) - captionPrior(b, a))));
      items.t2i.push(wins(at(a, a) - imagePrior(a, a), imgs.map((b) => at(b, a) - imagePrior(b, a))));
      n++;
    }
  });
  return {
    i2t_r1: mean(items.i2t), t2i_r1: mean(items.t2i), i2t_raw: mean(items.i2t_raw), t2i_raw: mean(items.t2i_raw), way, groups: groups.length, i2t_n: n, t2i_n: n, items,
  };
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/**
 * Which distractors are not counted against the model: the shapes world's checker where there is one,
 * else (any caption data) a distractor image that has the query's caption among its own captions
 * (two emoji scenes can both be "a tangerine on a red background").
 */
export function alsoTrueOf(set: ProbeImages): (captionOf: number, image: number) => boolean {
  return shapesAlsoTrue(set) ?? ((c, i) => set.texts[i]!.includes(set.texts[c]![0]!));
}

/** Shapes world: is the (raw) first caption of image `captionOf` true of image `image`? (memoised) */
export function shapesAlsoTrue(set: ProbeImages): ((captionOf: number, image: number) => boolean) | undefined {
  const { rawCaptions, scenes } = set;
  if (!rawCaptions || !scenes) return undefined;
  const memo = new Map<string, boolean>();
  return (c, i) => {
    const k = `${c}:${i}`;
    let v = memo.get(k);
    if (v === undefined) {
      v = checkCaption(rawCaptions[c]![0]!, scenes[i]!).true;
      memo.set(k, v);
    }
    return v;
  };
}

// ------------------------------------------------------------------------------------------ minimal pairs

export const MINIMAL_PAIR_KINDS = ['colour', 'shape', 'size', 'count', 'spatial'] as const;
export type MinimalPairKind = (typeof MINIMAL_PAIR_KINDS)[number];

/** One caption scored under two images: its own scene, and that scene with one edit that makes it false. */
export interface MinimalPair {
  kind: MinimalPairKind;
  /** preprocessed caption */
  caption: string;
  /** rows of the pair image set: the original scene and the edited one */
  original: number;
  edited: number;
  /** captions of other images, false of both scenes: how much the edit moves the loss of any caption */
  refs: string[];
}

export interface MinimalPairSet {
  images: ProbeImages;
  pairs: MinimalPair[];
}

const SIZE_GAP = 0.04; // the sampler's minimum gap between objects (scene.ts)

function sizeFits(scene: Scene, k: number, r: number): boolean {
  const o = scene.objects[k]!;
  if (o.x - r < 0.02 || o.x + r > 0.98 || o.y - r < 0.02 || o.y + r > 0.98) return false;
  return scene.objects.every((p, j) => j === k || Math.hypot(p.x - o.x, p.y - o.y) >= p.r + r + SIZE_GAP);
}

/**
 * Edited copies of a scene of one kind, in a fixed order (rotated by `turn` so the replacement colours
 * and shapes vary across images): recolour / reshape / resize one object, remove one, or mirror the scene.
 * Held-out colour-shape combinations are never created.
 */
export function sceneEdits(scene: Scene, kind: MinimalPairKind, turn: number): Scene[] {
  const out: Scene[] = [];
  const objs = scene.objects;
  const withObj = (k: number, patch: Partial<Scene['objects'][number]>): Scene => ({ objects: objs.map((o, j) => (j === k ? { ...o, ...patch } : o)) });
  const rotate = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]!);
  objs.forEach((o, k) => {
    if (kind === 'colour') {
      for (const c of rotate(COLOURS, turn + k)) if (c !== o.colour && !isHeldOut({ colour: c, shape: o.shape }, DEFAULT_HELD_OUT)) out.push(withObj(k, { colour: c }));
    } else if (kind === 'shape') {
      for (const sh of rotate(SHAPES, turn + k)) if (sh !== o.shape && !isHeldOut({ colour: o.colour, shape: sh }, DEFAULT_HELD_OUT)) out.push(withObj(k, { shape: sh }));
    } else if (kind === 'size') {
      const size = o.size === 'small' ? 'large' : 'small';
      if (sizeFits(scene, k, SIZE_RADIUS[size])) out.push(withObj(k, { size, r: SIZE_RADIUS[size] }));
    } else if (kind === 'count') {
      if (objs.length > 1) out.push({ objects: objs.filter((_, j) => j !== k) });
    }
  });
  if (kind === 'spatial') {
    out.push({ objects: objs.map((o) => ({ ...o, x: 1 - o.x })) });
    out.push({ objects: objs.map((o) => ({ ...o, y: 1 - o.y })) });
    out.push({ objects: objs.map((o) => ({ ...o, x: 1 - o.x, y: 1 - o.y })) });
  }
  return out;
}

/**
 * Up to one pair per test image and kind: the first caption of the image (in order) with an edit of
 * that kind that makes it false (the checker decides). Both images are rendered the same way.
 */
export function buildMinimalPairs(set: ProbeImages, images: number, kinds: readonly MinimalPairKind[] = MINIMAL_PAIR_KINDS, o: { supersample?: number; refs?: number } = {}): MinimalPairSet {
  const nRefs = Math.max(0, o.refs ?? 2);
  const S = set.imageSize;
  const plane = 3 * S * S;
  const rendered: Float32Array[] = [];
  const pairs: MinimalPair[] = [];
  const { rawCaptions, scenes } = set;
  const render = (sc: Scene): number => {
    rendered.push(normalizeClip(renderScene(sc, S, { supersample: o.supersample ?? 4 }), S));
    return rendered.length - 1;
  };
  if (rawCaptions && scenes) {
    for (let i = 0; i < Math.min(images, set.count); i++) {
      let original = -1;
      kinds.forEach((kind, ki) => {
        for (const cap of rawCaptions[i]!) {
          if (!checkCaption(cap, scenes[i]!).true) continue;
          const edit = sceneEdits(scenes[i]!, kind, i + ki).find((e) => {
            const r = checkCaption(cap, e);
            return r.parsed && !r.true;
          });
          if (edit) {
            if (original < 0) original = render(scenes[i]!);
            // reference captions: first captions of the next images that are false of both scenes
            const refs: string[] = [];
            for (let d = 1; d < set.count && refs.length < nRefs; d++) {
              const r = rawCaptions[(i + d) % set.count]?.[0];
              if (r === undefined || checkCaption(r, scenes[i]!).true || checkCaption(r, edit).true) continue;
              refs.push(preprocessText(r, 'caption'));
            }
            pairs.push({ kind, caption: preprocessText(cap, 'caption'), original, edited: render(edit), refs });
            return;
          }
        }
      });
    }
  }
  const imagesOut = new Float32Array(rendered.length * plane);
  rendered.forEach((r, k) => imagesOut.set(r, k * plane));
  return { images: { images: imagesOut, imageSize: S, count: rendered.length, texts: [], rawCaptions: null, scenes: null }, pairs };
}

export interface MinimalPairResult {
  /** accuracy per kind */
  accuracy: Partial<Record<MinimalPairKind, number>>;
  count: Partial<Record<MinimalPairKind, number>>;
  /** mean over the kinds present */
  mean: number | null;
  /** per pair, in order: 1 correct, 0.5 a tie, 0 wrong; and its kind */
  items: number[];
  kinds: MinimalPairKind[];
}

/**
 * Fraction of pairs where the edit raises the caption's loss more than it raises the loss of the
 * reference captions (the image's own prior: e.g. a scene with fewer objects may make every caption
 * cheaper): L(c|edit) − L(c|orig) > mean_r [L(r|edit) − L(r|orig)]. A tie counts half; without
 * references the comparison is L(c|orig) < L(c|edit).
 */
export function minimalPairAccuracy(scorer: PairLossScorer, pairs: readonly MinimalPair[]): MinimalPairResult {
  const scored: ScoredPair[] = [];
  for (const p of pairs) for (const t of [p.caption, ...p.refs]) scored.push({ image: p.original, text: t }, { image: p.edited, text: t });
  const loss = scorer.losses(scored);
  const hit: Partial<Record<MinimalPairKind, number>> = {};
  const count: Partial<Record<MinimalPairKind, number>> = {};
  const items: number[] = [];
  let at = 0;
  for (const p of pairs) {
    const rise = (): number => {
      const d = loss[at + 1]! - loss[at]!;
      at += 2;
      return d;
    };
    const own = rise();
    const refs = p.refs.map(() => rise());
    const ref = mean(refs);
    const score = own > ref ? 1 : own === ref ? 0.5 : 0;
    items.push(score);
    hit[p.kind] = (hit[p.kind] ?? 0) + score;
    count[p.kind] = (count[p.kind] ?? 0) + 1;
  }
  const accuracy: Partial<Record<MinimalPairKind, number>> = {};
  for (const k of MINIMAL_PAIR_KINDS) if (count[k]) accuracy[k] = hit[k]! / count[k]!;
  const vals = Object.values(accuracy);
  return { accuracy, count, mean: vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null, items, kinds: pairs.map((p) => p.kind) };
}

// ------------------------------------------------------------------------------------------ linear probe

export { linearProbe, type LinearProbeOptions } from './linear-probe.js';

export const PROBE_ATTRIBUTES = ['colour', 'shape', 'count'] as const;
export type ProbeAttribute = (typeof PROBE_ATTRIBUTES)[number];

/**
 * Class of an attribute of a scene, or null when it is ambiguous: colour / shape of the largest object
 * (only when exactly one object has the largest size), number of objects (1-4).
 */
export function attributeLabel(scene: Scene, attr: ProbeAttribute): number | null {
  if (attr === 'count') return scene.objects.length - 1;
  const rMax = Math.max(...scene.objects.map((o) => o.r));
  const largest = scene.objects.filter((o) => o.r === rMax);
  if (largest.length !== 1) return null;
  const o = largest[0]!;
  return attr === 'colour' ? COLOURS.indexOf(o.colour) : SHAPES.indexOf(o.shape);
}

export function attributeClasses(attr: ProbeAttribute): number {
  return attr === 'colour' ? COLOURS.length : attr === 'shape' ? SHAPES.length : 4;
}

/**
 * Frozen image-tower features [N, 2·Wv]: CLS and the mean of the patch tokens (after ln_post); for the
 * shapes world also, from the same pass, the token at every object's centre (object-token-probe.ts).
 */
export function imageTowerFeatures(model: AnyFLMModel, set: ProbeImages, o: { batch?: number; limit?: number } = {}): { x: Float32Array; dim: number; objects: ObjectTokenRows | null } {
  const B = Math.max(1, o.batch ?? 64);
  const S = set.imageSize;
  const plane = 3 * S * S;
  const parts: Float32Array[] = [];
  const objectParts: Float32Array[] = [];
  const shapes: number[] = [];
  const count = Math.min(set.count, o.limit ?? Infinity);
  let dim = 0;
  let width = 0;
  for (let s = 0; s < count; s += B) {
    const n = Math.min(B, count - s);
    const f = noGrad(() => tidy(() => {
      const img = tensor(set.images.subarray(s * plane, (s + n) * plane), { shape: [n, 3, S, S] }); // [n, 3, S, S]
      const tok = model.vit_model.forward(img); // [n, 1 + N_patch, Wv]
      width = tok.size(2);
      if (set.scenes) objectParts.push(objectRowsOf(tok, set.scenes.slice(s, s + n), shapes));
      const cls = tok.select(1, 0); // [n, Wv]
      const mean = tok.narrow(1, 1, tok.size(1) - 1).mean(1); // [n, Wv]
      const x = F.cat([cls, mean], 1); // [n, 2Wv]
      dim = x.size(1);
      return x.toTypedArray() as Float32Array;
    }));
    parts.push(f);
  }
  const objects = set.scenes ? { x: concatRows(objectParts), y: shapes, dim: width } : null;
  return { x: concatRows(parts), dim, objects };
}

/** Linear-probe rows of a probe set for one attribute: the images with an unambiguous label. */
export function attributeRows(set: ProbeImages, attr: ProbeAttribute, x: Float32Array, dim: number, limit = Infinity): { x: Float32Array; y: number[] } {
  if (!set.scenes) return { x: new Float32Array(0), y: [] };
  const rows: number[] = [];
  const y: number[] = [];
  set.scenes.slice(0, Math.min(limit, x.length / dim)).forEach((s, i) => {
    const l = attributeLabel(s, attr);
    if (l !== null) {
      rows.push(i);
      y.push(l);
    }
  });
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, k) => out.set(x.subarray(r * dim, (r + 1) * dim), k * dim));
  return { x: out, y };
}

// ------------------------------------------------------------------------------------------ all probes

export interface ProbeSettings {
  /** images of the K-way retrieval (a multiple of `way` is used) */
  zsImages: number;
  way: number;
  /** test images that minimal image pairs are built from (shapes world; up to one pair per kind each) */
  mpImages: number;
  /** reference captions per minimal pair (the image-prior correction; 0: none) */
  mpRefs: number;
  /** linear probe: optimiser steps (0: none), training images (probe-train spec), test images */
  lpSteps: number;
  lpTrain: number;
  lpTest: number;
  /**
   * how MLM scores a caption: 'one-word' (default) masks one word at a time, the others visible (the
   * standard pseudo-log-likelihood); 'passes' masks `mlmPasses` disjoint sets of words at once (cheaper)
   */
  mlmScoring: MlmScoring;
  /** 'passes' scoring: the number of disjoint whole-word maskings */
  mlmPasses: number;
  /** pairs per forward pass */
  batch: number;
}

export { PROBE_DEFAULTS } from './defaults.js';

/** The fixed evaluation material of a race: test images, minimal pairs, linear-probe training images. */
export interface ProbeContext {
  test: ProbeImages;
  pairs: MinimalPairSet;
  /** null: no linear probe (no scenes, or lpSteps 0) */
  lpTrain: ProbeImages | null;
  settings: ProbeSettings;
  alsoTrue?: (captionOf: number, image: number) => boolean;
}

export async function prepareProbes(testSpec: string, lpTrainSpec: string | null, imageSize: number, s: ProbeSettings, o: { workers?: number } = {}): Promise<ProbeContext> {
  const lp = s.lpSteps > 0 && s.lpTrain > 0 && s.lpTest > 0;
  const test = await loadProbeImages(testSpec, imageSize, Math.max(s.zsImages, s.mpImages, lp ? s.lpTest : 0), o);
  const pairs = buildMinimalPairs(test, s.mpImages, MINIMAL_PAIR_KINDS, { refs: s.mpRefs });
  const lpTrain = lpTrainSpec && lp && test.scenes ? await loadProbeImages(lpTrainSpec, imageSize, s.lpTrain, o) : null;
  return { test, pairs, lpTrain: lpTrain?.scenes ? lpTrain : null, settings: s, alsoTrue: alsoTrueOf(test) };
}

export type ProbeMetrics = Record<string, number>;

export interface ProbeResult {
  /** metric names as in the file header, plus `probe_s` (the time it took) */
  metrics: ProbeMetrics;
  /** per metric, the score of each test item (its mean is the metric; mp_mean: the mean over kinds, see `pairKinds`) */
  items: Record<string, number[]>;
}

/** The kind of each minimal pair, in order: the strata of mp_mean's items. */
export function pairKinds(ctx: ProbeContext): MinimalPairKind[] {
  return ctx.pairs.pairs.map((p) => p.kind);
}

/**
 * Every probe on one model. `objective` null (a fine-tuned model, which has no pretraining loss to score
 * captions by): the linear probes only.
 */
export function runProbes(model: AnyFLMModel, objective: PretrainObjective | null, tok: TextTokenizer, ctx: ProbeContext): ProbeResult {
  const t0 = performance.now();
  const wasTraining = model.training;
  model.eval();
  try {
    const s = ctx.settings;
    const scoring = { batch: s.batch, mlmScoring: s.mlmScoring, mlmPasses: s.mlmPasses };
    const m: ProbeMetrics = {};
    const items: Record<string, number[]> = {};
    if (objective !== null) {
      const scorer = modelPairScorer(model, objective, tok, ctx.test, scoring);
      const zs = kWayRetrieval(scorer, ctx.test, { images: s.zsImages, way: s.way, alsoTrue: ctx.alsoTrue });
      m.zs_i2t_r1 = zs.i2t_r1;
      m.zs_t2i_r1 = zs.t2i_r1;
      m.zs_i2t_raw = zs.i2t_raw;
      m.zs_t2i_raw = zs.t2i_raw;
      Object.assign(items, { zs_i2t_r1: zs.items.i2t, zs_t2i_r1: zs.items.t2i, zs_i2t_raw: zs.items.i2t_raw, zs_t2i_raw: zs.items.t2i_raw });
    }
    if (objective !== null && ctx.pairs.pairs.length) {
      const pairScorer = modelPairScorer(model, objective, tok, ctx.pairs.images, scoring);
      const mp = minimalPairAccuracy(pairScorer, ctx.pairs.pairs);
      for (const [k, v] of Object.entries(mp.accuracy)) {
        m[`mp_${k}`] = v;
        items[`mp_${k}`] = mp.items.filter((_, i) => mp.kinds[i] === k);
      }
      if (mp.mean !== null) {
        m.mp_mean = mp.mean;
        items.mp_mean = mp.items;
      }
    }
    if (ctx.lpTrain) {
      const tr = imageTowerFeatures(model, ctx.lpTrain);
      const te = imageTowerFeatures(model, ctx.test, { limit: s.lpTest });
      for (const attr of PROBE_ATTRIBUTES) {
        const a = attributeRows(ctx.lpTrain, attr, tr.x, tr.dim);
        const b = attributeRows(ctx.test, attr, te.x, te.dim, s.lpTest);
        if (a.y.length && b.y.length) {
          const lp = linearProbe(a, b, tr.dim, attributeClasses(attr), { steps: s.lpSteps });
          m[`lp_${attr}`] = lp.accuracy;
          items[`lp_${attr}`] = lp.correct;
        }
      }
      const local = tr.objects && te.objects ? objectShapeProbe(tr.objects, te.objects, { steps: s.lpSteps }) : null;
      if (local) {
        m.lp_shape_local = local.accuracy;
        items.lp_shape_local = local.correct;
      }
    }
    m.probe_s = Number(((performance.now() - t0) / 1000).toFixed(2));
    return { metrics: m, items };
  } finally {
    model.train(wasTraining);
  }
}
