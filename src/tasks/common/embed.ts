// `flm embed` and the library's embed(): features of images or texts (`flm embed` writes a safetensors file).
//   images  the CLIP tower's class token after ln_post, [N, Wv] (inference-features.ts imageFeatures)
//   texts   the CLS after the uni-modal text layers, image-free, [N, Ht] (textFeatures)
// FLM has no contrastive head, so the two spaces are not aligned: compare images with images and texts
// with texts; to score image-text pairs use `flm retrieve`.
// File: tensor `features` [N, D] float32; metadata `kind` (image|text), `feature`, `names` (JSON list of
// the file paths or texts, in row order), `checkpoint`.
import { resolve } from 'node:path';
import { F, noGrad, tidy, type Tensor } from '../../tensor/index.js';
import { saveSafetensors } from '../../io/safetensors.js';
import { chunks, imageName, loadImageBatch, textBatch, type ImageInput } from './inference-inputs.js';
import { imageFeatures, textFeatures } from './inference-features.js';
import type { RunModel } from './inference-model.js';

export interface EmbedResult {
  kind: 'image' | 'text';
  count: number;
  dim: number;
  out: string;
}

export type EmbedInput = { images: readonly ImageInput[] } | { texts: readonly string[] };

export interface Features {
  kind: 'image' | 'text';
  /** which feature: 'vit_cls_ln_post' (images) or 'text_bottom_cls' (texts), see the header */
  feature: 'vit_cls_ln_post' | 'text_bottom_cls';
  /** [N, D] float32, the caller's to dispose */
  features: Tensor;
}

/** Features of images or texts, `batchSize` at a time, in input order. */
export async function embedFeatures(run: RunModel, input: EmbedInput, o: { batchSize?: number } = {}): Promise<Features> {
  const bs = o.batchSize ?? 32;
  const parts: Tensor[] = [];
  const kind = 'images' in input ? 'image' : 'text';
  const count = 'images' in input ? input.images.length : input.texts.length;
  if (count === 0) throw new RangeError(`nothing to embed: no ${kind}s given`);
  try {
    if ('images' in input) {
      let first = 0;
      for (const group of chunks(input.images, bs)) {
        const images = await loadImageBatch(group, run.config.image_size, first); // [n, 3, S, S]
        first += group.length;
        try {
          parts.push(noGrad(() => imageFeatures(run.model, images))); // [n, Wv]
        } finally {
          images.dispose();
        }
      }
    } else {
      for (const group of chunks(input.texts, bs)) {
        parts.push(noGrad(() => tidy(() => {
          const t = textBatch(run.tokenizer, group);
          return textFeatures(run.model, t.textIds, t.textMasks); // [n, Ht]
        })));
      }
    }
    const features = tidy(() => F.cat(parts, 0).contiguous()); // [N, D]
    return { kind, feature: kind === 'image' ? 'vit_cls_ln_post' : 'text_bottom_cls', features };
  } finally {
    for (const p of parts) p.dispose();
  }
}

/** Features of images or texts written to `out` (see the header for the file). */
export async function embed(run: RunModel, input: EmbedInput, out: string, o: { batchSize?: number } = {}): Promise<EmbedResult> {
  const names = 'images' in input ? input.images.map(imageName) : [...input.texts];
  const { kind, feature, features } = await embedFeatures(run, input, o);
  try {
    const path = resolve(out);
    saveSafetensors(path, new Map([['features', features]]), { kind, feature, names: JSON.stringify(names), checkpoint: run.dir });
    return { kind, count: features.shape[0]!, dim: features.shape[1]!, out: path };
  } finally {
    features.dispose();
  }
}
