// manifest.json of an ONNX export (`flm export RUN --format onnx`): which graph does what, with which
// inputs and outputs, and everything a runtime needs besides the graphs to caption, answer, rank or
// judge: the image preprocessing, the tokenizer and its special ids, the caption decoding tokens and
// limits, the VQA answer vocabulary. Written by src/api/export-onnx.ts, read by the in-browser library.

export const ONNX_MANIFEST_FORMAT = 'flm-onnx';
export const ONNX_MANIFEST_VERSION = 1;
export const ONNX_MANIFEST_FILE = 'manifest.json';

export type OnnxTask = 'caption' | 'vqa' | 'retrieval' | 'nlvr2';
export type OnnxGraphRole = 'image_encoder' | 'caption_step' | 'vqa' | 'rank' | 'nlvr2';

export interface TensorSpec {
  name: string;
  type: 'float32' | 'int64' | 'bool';
  /** numbers are fixed sizes; strings name dynamic axes ('batch', 'sequence') */
  shape: Array<number | string>;
  doc: string;
}

export interface GraphSpec {
  /** the .onnx file, in the manifest's folder */
  file: string;
  doc: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** file size */
  bytes: number;
}

export interface OnnxManifest {
  format: typeof ONNX_MANIFEST_FORMAT;
  formatVersion: number;
  task: OnnxTask;
  /** training step of the weights */
  step: number;
  /** the flm version that wrote the export */
  producer: string;
  opset: number;
  /** the graphs, by role; image_encoder always, then the task's */
  graphs: Partial<Record<OnnxGraphRole, GraphSpec>>;
  image: {
    /** side S of the square model input */
    size: number;
    /** per-channel mean and std of x / 255 (CLIP's) */
    mean: [number, number, number];
    std: [number, number, number];
    /** what the Node pipeline does first: `cover` = shorter side to S (bicubic), centre crop S x S */
    resize: 'cover';
    /** colour transparent pixels are composited onto */
    background: [number, number, number];
  };
  tokenizer: {
    file: string;
    /** the padded text length L the model was trained with */
    maxLength: number;
    specialIds: { cls: number; sep: number; pad: number; mask: number; unk: number | null };
  };
  /** caption models: `<s> <bos>` prompt, stop tokens, and the generated-token limit */
  caption?: {
    prompt: number[];
    bos: number;
    eos: number;
    stop: number[];
    /** generated tokens at most, the stop token included (decoding's default, capped at maxLength - 1) */
    maxSteps: number;
  };
  /** VQA models: class index -> answer */
  vqa?: { answers: string[] };
  /** how rank() scores: the rank head (retrieval) or the caption log-likelihood (caption models) */
  rank?: { kind: 'rank' | 'caption' };
}

/** The manifest, checked enough that a wrong folder fails with a message saying so. */
export function parseManifest(json: unknown, where = ONNX_MANIFEST_FILE): OnnxManifest {
  const m = json as Partial<OnnxManifest> | null;
  if (typeof m !== 'object' || m === null || m.format !== ONNX_MANIFEST_FORMAT) {
    throw new Error(`${where} is not an flm ONNX manifest (format "${ONNX_MANIFEST_FORMAT}"): export the model with \`flm export RUN --format onnx --out DIR\``);
  }
  if (typeof m.formatVersion !== 'number' || m.formatVersion > ONNX_MANIFEST_VERSION) {
    throw new Error(`${where}: format version ${String(m.formatVersion)} is newer than this library reads (${ONNX_MANIFEST_VERSION}): update flm`);
  }
  if (!m.graphs?.image_encoder || !m.image || !m.tokenizer) throw new Error(`${where}: no image_encoder graph, image or tokenizer section`);
  return m as OnnxManifest;
}
