// `flm caption` and the library's caption(): captions for images from a caption fine-tuning checkpoint.
import { tidy } from '../../tensor/index.js';
import { FLMModel } from '../../models/index.js';
import { CheckpointError } from '../../train/checkpoint.js';
import { generate, type DecodeOptions, type DecodeTokens } from './decode.js';
import { decodeCaption, type CaptionTokens } from './tokens.js';
import { chunks, loadImageBatch, type ImageInput } from '../common/inference-inputs.js';
import type { RunModel } from '../common/inference-model.js';

export interface GeneratedCaption {
  caption: string;
  /** false when the length limit, not a stop token, ended the caption */
  stopped: boolean;
}

export interface CaptionedImage extends GeneratedCaption {
  path: string;
}

export type CaptionOptions = DecodeOptions & { batchSize?: number };

/** The caption model and its decoding tokens, or a CheckpointError saying why the checkpoint cannot caption. */
export function captionModelOf(run: RunModel): { model: FLMModel; tokens: CaptionTokens; decode: DecodeTokens } {
  const tokens = run.state.captionTokens as CaptionTokens | undefined;
  if (run.task !== 'caption' || tokens === undefined) {
    throw new CheckpointError(`${run.dir} is a ${run.task} checkpoint, not a caption model: fine-tune it first with \`flm finetune caption --init ${run.runDir}\``);
  }
  if (!(run.model instanceof FLMModel)) throw new CheckpointError(`${run.dir}: a caption checkpoint must hold an FLM (three-stream) model`);
  const decode = { cls: run.tokenizer.specialIds.cls, bos: tokens.bos, stop: [...new Set([tokens.eos, run.tokenizer.specialIds.sep])] };
  return { model: run.model, tokens, decode };
}

/** Captions for images, in order; decoding batches of `batchSize` images. */
export async function captionImages(run: RunModel, inputs: readonly ImageInput[], o: CaptionOptions = {}): Promise<GeneratedCaption[]> {
  const { model, decode } = captionModelOf(run);
  const out: GeneratedCaption[] = [];
  for (const group of chunks(inputs, o.batchSize ?? 32)) {
    const images = await loadImageBatch(group, model.config.image_size, out.length); // [n, 3, S, S]
    try {
      const gens = tidy(() => generate(model, images, decode, o));
      for (const g of gens) out.push({ caption: decodeCaption(run.tokenizer, g.ids), stopped: g.stopped });
    } finally {
      images.dispose();
    }
  }
  return out;
}

/** Captions for image files, in order. */
export async function captionFiles(run: RunModel, paths: readonly string[], o: CaptionOptions = {}): Promise<CaptionedImage[]> {
  return (await captionImages(run, paths, o)).map((c, i) => ({ path: paths[i]!, ...c }));
}
