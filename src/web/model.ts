// The in-browser library: an exported folder (`flm export RUN --format onnx`) run with onnxruntime-web
// (WASM; WebGPU where the page loads ort's WebGPU build and asks for it), tokenised with the
// Hugging Face tokenizer flm trains with. caption(), answer(), rank() and judge() follow flm's own
// inference (src/tasks/*/infer.ts) step for step: greedy caption decoding on the forward stream, the
// VQA head's sigmoid scores, the rank head or the caption log-likelihood, NLVR2's softmax.
import * as ort from 'onnxruntime-web';
import { TextTokenizer } from '../data/tokenizer.js';
import { decodeCaption, encodeCaptions } from '../data/caption-text.js';
import { preprocessCaption } from '../data/text.js';
import { parseManifest, ONNX_MANIFEST_FILE, type OnnxGraphRole, type OnnxManifest } from './manifest.js';
import { preprocessImage, type PixelImage } from './preprocess.js';

/** An image: decoded pixels (RGB or RGBA, e.g. ImageData) or the model input itself, a Float32Array [3, S, S]. */
export type WebImage = PixelImage | Float32Array;

export interface LoadWebModelOptions {
  /** reads one file of the exported folder; default: fetch() relative to the folder's URL */
  read?: (file: string) => Promise<Uint8Array>;
  /** onnxruntime execution providers, in order of preference (default ['wasm']; e.g. ['webgpu', 'wasm']) */
  executionProviders?: string[];
  /** WASM threads (default: onnxruntime's choice, 1 unless the page is cross-origin isolated) */
  numThreads?: number;
}

export interface WebCaption {
  caption: string;
  /** generated ids, without the prompt and the stop token */
  ids: number[];
  /** false when the length limit, not a stop token, ended the caption */
  stopped: boolean;
}

export interface WebAnswer {
  answer: string;
  /** sigmoid of the answer's logit */
  score: number;
  top: Array<{ answer: string; score: number }>;
}

export interface RankedText {
  text: string;
  /** its position in the input */
  index: number;
  /** rank head score, or mean log-likelihood of the caption (caption models): higher is better */
  score: number;
}

export class WebModelError extends Error {
  override readonly name = 'WebModelError';
}

type Feeds = Record<string, ort.Tensor>;

const int64 = (values: ArrayLike<number>, dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims);

/** Index of the first largest value of row `row` of a [rows, n] array (torch's argmax picks the first). */
function argmaxRow(a: Float32Array, row: number, n: number): number {
  let best = 0;
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = a[row * n + j]!;
    if (v > max || Number.isNaN(v)) {
      max = v;
      best = j;
      if (Number.isNaN(v)) break;
    }
  }
  return best;
}

function fetchReader(base: string): (file: string) => Promise<Uint8Array> {
  const root = base.endsWith('/') ? base : `${base}/`;
  return async (file: string) => {
    const url = new URL(file, new URL(root, (globalThis as { location?: { href: string } }).location?.href ?? 'file:///')).href;
    const r = await fetch(url);
    if (!r.ok) throw new WebModelError(`cannot load ${url}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  };
}

export class WebModel {
  readonly #sessions: Map<OnnxGraphRole, ort.InferenceSession>;

  private constructor(readonly manifest: OnnxManifest, readonly tokenizer: TextTokenizer, sessions: Map<OnnxGraphRole, ort.InferenceSession>, readonly loadMs: number) {
    this.#sessions = sessions;
  }

  get task(): OnnxManifest['task'] {
    return this.manifest.task;
  }

  /** Loads the manifest, the tokenizer and every graph of an exported folder (a URL or, with `read`, any path). */
  static async load(base: string, o: LoadWebModelOptions = {}): Promise<WebModel> {
    const t0 = performance.now();
    const read = o.read ?? fetchReader(base);
    const text = (b: Uint8Array): string => new TextDecoder().decode(b);
    const manifest = parseManifest(JSON.parse(text(await read(ONNX_MANIFEST_FILE))), `${base}/${ONNX_MANIFEST_FILE}`);
    const tokenizer = new TextTokenizer(JSON.parse(text(await read(manifest.tokenizer.file))), { maxLength: manifest.tokenizer.maxLength });
    if (o.numThreads !== undefined) ort.env.wasm.numThreads = o.numThreads;
    const options: ort.InferenceSession.SessionOptions = { executionProviders: o.executionProviders ?? ['wasm'], graphOptimizationLevel: 'all' };
    const sessions = new Map<OnnxGraphRole, ort.InferenceSession>();
    for (const [role, spec] of Object.entries(manifest.graphs) as Array<[OnnxGraphRole, { file: string }]>) {
      sessions.set(role, await ort.InferenceSession.create(await read(spec.file), options));
    }
    return new WebModel(manifest, tokenizer, sessions, performance.now() - t0);
  }

  #session(role: OnnxGraphRole, what: string): ort.InferenceSession {
    const s = this.#sessions.get(role);
    if (!s) throw new WebModelError(`${what} needs ${role === 'caption_step' ? 'a caption' : role === 'vqa' ? 'a VQA' : role === 'nlvr2' ? 'an NLVR2' : 'a retrieval or caption'} model; this export is a ${this.task} model`);
    return s;
  }

  async #run(role: OnnxGraphRole, feeds: Feeds, what: string): Promise<ort.Tensor> {
    const s = this.#session(role, what);
    const out = await s.run(feeds);
    return out[s.outputNames[0]!]!;
  }

  /** The model input [1, 3, S, S] of an image. */
  pixels(image: WebImage): ort.Tensor {
    const S = this.manifest.image.size;
    const px = image instanceof Float32Array ? image : preprocessImage(image, { ...this.manifest.image });
    if (px.length !== 3 * S * S) throw new WebModelError(`a preprocessed image must have 3 x ${S} x ${S} values, got ${px.length}`);
    return new ort.Tensor('float32', px, [1, 3, S, S]);
  }

  /** image_encoder output [1, N, H]. */
  async imageEmbeds(image: WebImage): Promise<ort.Tensor> {
    return this.#run('image_encoder', { image: this.pixels(image) }, 'imageEmbeds()');
  }

  /** Tokenized texts [B, L] (the tokenizer's padding to the trained length). */
  #texts(texts: readonly string[]): { ids: ort.Tensor; mask: ort.Tensor } {
    const e = this.tokenizer.encodeBatch(texts);
    return { ids: int64(e.ids, e.shape), mask: int64(e.attentionMask, e.shape) };
  }

  /** [1, N, H] repeated to [n, N, H]. */
  #repeat(embeds: ort.Tensor, n: number): ort.Tensor {
    if (n === 1) return embeds;
    const one = embeds.data as Float32Array;
    const out = new Float32Array(one.length * n);
    for (let i = 0; i < n; i++) out.set(one, i * one.length);
    return new ort.Tensor('float32', out, [n, ...embeds.dims.slice(1)]);
  }

  /** Empty key/value caches (P = 0) of caption_step for a batch of n. */
  #emptyPast(n: number): Feeds {
    const spec = this.manifest.graphs.caption_step!;
    const feeds: Feeds = {};
    for (const input of spec.inputs.filter((i) => i.name.startsWith('past_'))) {
      const [, heads, , d] = input.shape as [string, number, string, number];
      feeds[input.name] = new ort.Tensor('float32', new Float32Array(0), [n, heads, 0, d]);
    }
    return feeds;
  }

  /**
   * Greedy caption (the official decoder, tasks/caption/decode.ts greedyDecode). Each step feeds all
   * tokens so far with the keys and values cached by the step before, so only the new token is computed.
   */
  async caption(image: WebImage, o: { maxSteps?: number } = {}): Promise<WebCaption> {
    const session = this.#session('caption_step', 'caption()');
    const c = this.manifest.caption;
    if (!c) throw new WebModelError('the manifest has no caption section');
    const n = o.maxSteps ?? c.maxSteps;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`maxSteps must be a positive integer, got ${n}`);
    const steps = Math.min(n, this.manifest.tokenizer.maxLength - 1);
    const embeds = await this.imageEmbeds(image);
    const ids: number[] = [];
    let past = this.#emptyPast(1);
    for (let step = 0; step < steps; step++) {
      const row = [...c.prompt, ...ids];
      const T = row.length;
      const out = await session.run({ image_embeds: embeds, input_ids: int64(row, [1, T]), attention_mask: int64(row.map(() => 1), [1, T]), ...past });
      const logits = out.logits!;
      const [, rows, V] = logits.dims as [number, number, number];
      const next = argmaxRow(logits.data as Float32Array, rows - 1, V);
      if (c.stop.includes(next)) return { caption: decodeCaption(this.tokenizer, ids), ids, stopped: true };
      ids.push(next);
      past = Object.fromEntries(Object.entries(out).filter(([k]) => k.startsWith('present_')).map(([k, v]) => [k.replace('present_', 'past_'), v]));
    }
    return { caption: decodeCaption(this.tokenizer, ids), ids, stopped: false };
  }

  /** The best answers to a question (tasks/vqa/infer.ts answerQuestion). */
  async answer(image: WebImage, question: string, o: { top?: number } = {}): Promise<WebAnswer> {
    this.#session('vqa', 'answer()');
    if (question.trim() === '') throw new RangeError('the question is empty');
    const answers = this.manifest.vqa?.answers ?? [];
    const t = this.#texts([question]);
    const logits = (await this.#run('vqa', { image_embeds: await this.imageEmbeds(image), input_ids: t.ids, attention_mask: t.mask }, 'answer()')).data as Float32Array;
    const scored = Array.from(logits, (x, i) => ({ answer: answers[i] ?? `#${i}`, score: 1 / (1 + Math.exp(-x)) }));
    const top = scored.sort((a, b) => b.score - a.score).slice(0, o.top ?? 5);
    return { answer: top[0]!.answer, score: top[0]!.score, top };
  }

  /** Texts scored against the image, best first (tasks/retrieval/infer.ts scorePairs); texts are preprocessed as captions. */
  async rank(image: WebImage, texts: readonly string[]): Promise<RankedText[]> {
    if (texts.length === 0) throw new RangeError('no texts to rank');
    texts.forEach((t, j) => {
      if (typeof t !== 'string' || t.trim() === '') throw new RangeError(`text #${j} is empty`);
    });
    const queries = texts.map(preprocessCaption);
    const embeds = this.#repeat(await this.imageEmbeds(image), texts.length);
    let scores: number[];
    if (this.manifest.rank?.kind === 'caption') scores = await this.#captionLikelihoods(embeds, queries);
    else {
      const t = this.#texts(queries);
      scores = Array.from((await this.#run('rank', { image_embeds: embeds, input_ids: t.ids, attention_mask: t.mask }, 'rank()')).data as Float32Array);
    }
    return texts.map((text, index) => ({ text, index, score: scores[index]! })).sort((a, b) => b.score - a.score);
  }

  /** Mean log-likelihood of each caption on the forward stream (retrieval/infer.ts captionLogLikelihood). */
  async #captionLikelihoods(embeds: ort.Tensor, queries: readonly string[]): Promise<number[]> {
    const c = this.manifest.caption!;
    const L = this.manifest.tokenizer.maxLength;
    const e = encodeCaptions(this.tokenizer, { mode: 'added', bos: c.bos, eos: c.eos }, queries, L);
    const logits = await this.#run('caption_step', { image_embeds: embeds, input_ids: int64(e.ids, e.shape), attention_mask: int64(e.mask, e.shape), ...this.#emptyPast(queries.length) }, 'rank()');
    const V = logits.dims[2]!;
    const data = logits.data as Float32Array;
    const pad = this.tokenizer.specialIds.pad;
    return queries.map((_, b) => {
      // positions 1..L-2 predict labels ids[2..L-1]; pads are skipped (rowCrossEntropy)
      let sum = 0;
      let count = 0;
      for (let t = 1; t <= L - 2; t++) {
        const label = e.ids[b * L + t + 1]!;
        if (label === pad) continue;
        const off = (b * L + t) * V;
        let max = -Infinity;
        for (let j = 0; j < V; j++) max = Math.max(max, data[off + j]!);
        let z = 0;
        for (let j = 0; j < V; j++) z += Math.exp(data[off + j]! - max);
        sum += data[off + label]! - max - Math.log(z);
        count++;
      }
      return sum / Math.max(1, count);
    });
  }

  /** Whether a statement is true of a pair of images (tasks/nlvr2/infer.ts judgeStatement). */
  async judge(pair: readonly [WebImage, WebImage], statement: string): Promise<{ label: boolean; probability: number }> {
    this.#session('nlvr2', 'judge()');
    if (statement.trim() === '') throw new RangeError('the statement is empty');
    const t = this.#texts([statement]);
    const [l, r] = [await this.imageEmbeds(pair[0]), await this.imageEmbeds(pair[1])];
    const z = (await this.#run('nlvr2', { image_embeds_0: l, image_embeds_1: r, input_ids: t.ids, attention_mask: t.mask }, 'judge()')).data as Float32Array;
    const m = Math.max(z[0]!, z[1]!);
    const probability = Math.exp(z[1]! - m) / (Math.exp(z[0]! - m) + Math.exp(z[1]! - m));
    return { label: probability > 0.5, probability };
  }

  /** Frees the sessions. */
  async release(): Promise<void> {
    for (const s of this.#sessions.values()) await s.release();
    this.#sessions.clear();
  }
}

/** Loads an exported folder: `await loadWebModel('models/cap-onnx/')`. */
export function loadWebModel(base: string, o: LoadWebModelOptions = {}): Promise<WebModel> {
  return WebModel.load(base, o);
}
