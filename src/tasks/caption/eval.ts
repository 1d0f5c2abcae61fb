// Caption evaluation (spec F, captioning): generate one caption per image, score BLEU-1..4 and CIDEr-D
// with the repo's pycocoevalcap-exact metrics (PTB tokenisation and punctuation removal included)
// against the image's reference captions, and on the shapes world also the semantic accuracy: the
// generated caption parsed by the world's grammar and checked against the scene (src/data/shapes).
// METEOR and SPICE need Java in the reference and are not computed.
import { tensor, tidy } from '../../tensor/index.js';
import type { FLMModel } from '../../models/index.js';
import { openDataset } from '../../data/spec.js';
import { loadImageTensor } from '../../data/image.js';
import { dedupeCaptions } from '../../data/text.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { DataError, iterateIndexed, type DataItem, type DatasetSource } from '../../data/types.js';
import { ShapesSource } from '../../data/formats/shapes.js';
import { checkCaption, semanticAccuracy, type Scene, type SemanticAccuracy } from '../../data/shapes/index.js';
import { computeBleu, computeCider, cocoTokenizeCaptions } from '../../eval/metrics/index.js';
import { decodeCaption, type CaptionTokens } from './tokens.js';
import { generate, type DecodeOptions } from './decode.js';

export interface CaptionEvalOptions extends DecodeOptions {
  /** images per decoding batch (official 32) */
  batchSize?: number;
  /** evaluate the first n images only */
  limit?: number;
  /** skipped images are reported here (default console.warn) */
  warn?: (message: string) => void;
}

export interface CaptionPrediction {
  key: string;
  caption: string;
  references: string[];
  /** shapes world: the caption parses and is true of the scene */
  correct?: boolean;
}

export interface CaptionScores {
  /** corpus BLEU-1..4 */
  bleu: number[];
  bleu4: number;
  cider: number;
}

export interface CaptionEvalResult extends CaptionScores {
  images: number;
  skipped: number;
  /** shapes world only */
  semantic: SemanticAccuracy | null;
  elapsedS: number;
  predictions: CaptionPrediction[];
}

/** BLEU and CIDEr-D of predictions against their references, tokenised as pycocoevalcap does. */
export function scoreCaptions(preds: ReadonlyArray<Pick<CaptionPrediction, 'key' | 'caption' | 'references'>>): CaptionScores {
  if (preds.length === 0) throw new Error('scoreCaptions: no predictions');
  const gts = cocoTokenizeCaptions(Object.fromEntries(preds.map((p) => [p.key, p.references])));
  const res = cocoTokenizeCaptions(Object.fromEntries(preds.map((p) => [p.key, [p.caption]])));
  const bleu = computeBleu(gts, res).score;
  return { bleu, bleu4: bleu[3]!, cider: computeCider(gts, res).score };
}

interface EvalItem {
  item: DataItem;
  scene: Scene | null;
}

async function* evalItems(src: DatasetSource, limit: number, warn: (m: string) => void): AsyncGenerator<EvalItem> {
  const shapes = src instanceof ShapesSource ? src : null;
  let n = 0;
  let index = 0;
  const entries = src.kind === 'indexed' ? iterateIndexed(src) : src[Symbol.asyncIterator]();
  for (;;) {
    if (n >= limit) return;
    const next = await entries.next();
    if (next.done) return;
    const e = next.value;
    const i = index++;
    if (!e.ok) {
      warn(`skipped ${e.key}: ${e.reason}`);
      continue;
    }
    n++;
    yield { item: e.item, scene: shapes ? shapes.world.scene(i) : null };
  }
}

/** Caption every image of a caption dataset and score the captions. The model should be in eval mode. */
export async function evaluateCaptions(
  model: FLMModel, tokenizer: TextTokenizer, tokens: CaptionTokens, data: string | DatasetSource, o: CaptionEvalOptions = {},
): Promise<CaptionEvalResult> {
  const t0 = performance.now();
  const src = typeof data === 'string' ? await openDataset(data) : data;
  const warn = o.warn ?? ((m: string) => console.warn(`flm eval caption: ${m}`));
  if (src.textKind !== 'caption') throw new DataError(`${src.name}: caption evaluation needs a caption dataset (this one has ${src.textKind}s)`);
  const size = model.config.image_size;
  const batchSize = o.batchSize ?? 32;
  const decode = { cls: tokenizer.specialIds.cls, bos: tokens.bos, stop: [...new Set([tokens.eos, tokenizer.specialIds.sep])] };
  const predictions: CaptionPrediction[] = [];
  const scenes: Array<{ caption: string; scene: Scene }> = [];
  let skipped = 0;
  const run = async (group: EvalItem[]): Promise<void> => {
    const loaded = await Promise.all(group.map(async (g) => {
      try {
        return { g, pixels: await loadImageTensor(g.item.images[0]!, { size }) };
      } catch (e) {
        warn(`skipped ${g.item.key}: ${(e as Error).message}`);
        skipped++;
        return null;
      }
    }));
    const ok = loaded.filter((x) => x !== null);
    if (ok.length === 0) return;
    const flat = new Float32Array(ok.length * 3 * size * size);
    ok.forEach((x, i) => flat.set(x.pixels, i * 3 * size * size));
    const gens = tidy(() => generate(model, tensor(flat, { shape: [ok.length, 3, size, size] }), decode, o));
    ok.forEach(({ g }, i) => {
      const caption = decodeCaption(tokenizer, gens[i]!.ids);
      const p: CaptionPrediction = { key: g.item.key, caption, references: dedupeCaptions(g.item.captions) };
      if (g.scene) {
        p.correct = checkCaption(caption, g.scene).true;
        scenes.push({ caption, scene: g.scene });
      }
      predictions.push(p);
    });
  };
  try {
    let group: EvalItem[] = [];
    for await (const it of evalItems(src, o.limit ?? Infinity, warn)) {
      group.push(it);
      if (group.length === batchSize) {
        await run(group);
        group = [];
      }
    }
    if (group.length > 0) await run(group);
  } finally {
    if (typeof data === 'string') await src.close?.();
  }
  if (predictions.length === 0) throw new DataError(`${src.name}: no image could be captioned (${skipped} skipped)`);
  return {
    ...scoreCaptions(predictions), images: predictions.length, skipped, semantic: scenes.length > 0 ? semanticAccuracy(scenes) : null,
    elapsedS: (performance.now() - t0) / 1000, predictions,
  };
}

/** The numbers of a caption evaluation as metrics. */
export function captionMetrics(e: CaptionEvalResult): Record<string, number> {
  return {
    ...Object.fromEntries(e.bleu.map((b, i) => [`bleu${i + 1}`, b])), cider: e.cider, images: e.images,
    ...(e.semantic ? { semantic_accuracy: e.semantic.accuracy, semantic_parsed: e.semantic.parsed, object_recall: e.semantic.objectRecall } : {}),
  };
}
