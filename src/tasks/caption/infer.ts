// `flm caption`: captions for image files from a caption fine-tuning checkpoint.
import { tidy } from '../../tensor/index.js';
import { FLMModel } from '../../models/index.js';
import { CheckpointError } from '../../train/checkpoint.js';
import { generate, type DecodeOptions, type DecodeTokens } from './decode.js';
import { decodeCaption, type CaptionTokens } from './tokens.js';
import { chunks, loadImageBatch } from '../common/inference-inputs.js';
import type { RunModel } from '../common/inference-model.js';

export interface CaptionedImage {
  path: string;
  caption: string;
  /** false when the length limit, not a stop token, ended the caption */
  stopped: boolean;
}

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

/** Captions for image files, in order; decoding batches of `batchSize` images. */
export async function captionFiles(run: RunModel, paths: readonly string[], o: DecodeOptions & { batchSize?: number } = {}): Promise<CaptionedImage[]> {
  const { model, decode } = captionModelOf(run);
  const out: CaptionedImage[] = [];
  for (const group of chunks(paths, o.batchSize ?? 32)) {
    const images = await loadImageBatch(group, model.config.image_size); // [n, 3, S, S]
    try {
      const gens = tidy(() => generate(model, images, decode, o));
      group.forEach((path, i) => out.push({ path, caption: decodeCaption(run.tokenizer, gens[i]!.ids), stopped: gens[i]!.stopped }));
    } finally {
      images.dispose();
    }
  }
  return out;
}
