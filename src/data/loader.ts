/**
 * The data loader: a seeded, rank-sharded order of (image, text) samples, decoded (and augmented) in
 * worker threads with prefetch, batched into plain typed arrays. Unreadable samples are skipped and
 * counted, never fatal, unless nothing at all can be read. `state()` / `restore()` carry the position
 * (epoch, cursor into the rank's order, seed), so a resumed run sees exactly the batches it would have.
 *
 * Iterating the loader yields the rest of the current epoch and then moves to the next epoch:
 *   for (;;) for await (const batch of loader) trainStep(batch);
 */
import { createDecoder, defaultWorkers, type Decoder, type DecodeResult } from './decode.js';
import type { ImageOptions, Rgb } from './image.js';
import { buildPairs, epochOrder, RANDOM_CAPTION, shardOrder, streamOrder, type PairMode, type Pairs, type ShardMode } from './order.js';
import type { RandAugmentOptions } from './randaugment.js';
import { hashSeed } from './rng.js';
import { dedupeCaptions, preprocessText } from './text.js';
import type { EncodedBatch, TextTokenizer } from './tokenizer.js';
import { DataError, type DatasetSource, type ItemMeta, type SourceEntry } from './types.js';

/** Characters kept per token of the text length when a caption is cut at read time. */
const CHARS_PER_TOKEN = 64;

export interface LoaderOptions {
  batchSize: number;
  /** Output image side S (the model's image size). */
  imageSize: number;
  /** Tokenizes the batch texts; without one, batches carry the raw texts only. */
  tokenizer?: TextTokenizer;
  /** Padded text length L (default: the tokenizer's maxLength). */
  maxTextLength?: number;
  /** Base seed of the order and the augmentation (default 2022, the reference trainer's). */
  seed?: number;
  shuffle?: boolean;
  rank?: number;
  worldSize?: number;
  shardMode?: ShardMode;
  pairs?: PairMode;
  /** RandAugment in training (`clip_randaug`): true for N=2, M=9. */
  augment?: boolean | RandAugmentOptions;
  /** Colour that transparency is composited onto (default white). */
  background?: Rgb;
  /** Decode worker threads (0 = in the main thread). */
  workers?: number;
  /** Batches decoded ahead (default 2). */
  prefetch?: number;
  /** Drop the last, short batch of an epoch (default false). */
  dropLast?: boolean;
  /** Shuffle buffer of streamed sources, in samples (default 2000). */
  shuffleBuffer?: number;
  /** Failures in a row, before any success, after which the dataset counts as unreadable (default 64). */
  failLimit?: number;
  /** Where skip warnings go (default: console.warn for the first 10, then every 1000th). */
  warn?: (message: string) => void;
}

export interface LoaderState {
  epoch: number;
  /** Samples of the rank's epoch order already consumed. */
  cursor: number;
  /** Batches delivered in this epoch. */
  batch: number;
  seed: number;
  rank: number;
  worldSize: number;
}

export interface Batch {
  epoch: number;
  /** Batch number within the epoch. */
  index: number;
  size: number;
  imageSize: number;
  /** One Float32Array [B, 3, S, S] per image slot (two for NLVR2), CLIP-normalised. */
  images: Float32Array[];
  imageShape: [number, number, number, number];
  /** Tokenized texts [B, L]; absent without a tokenizer. */
  text?: EncodedBatch;
  /** The texts after preprocessing. */
  texts: string[];
  keys: string[];
  meta: Array<ItemMeta | undefined>;
  /** Samples skipped (unreadable) while assembling this batch. */
  skipped: number;
  /** Loader position right after this batch (save it with the checkpoint). */
  state: LoaderState;
}

export interface LoaderStats {
  samples: number;
  skipped: number;
  duplicates: number;
  /** captions cut at read time to what the model's text length can use */
  truncated: number;
}

interface Sample {
  pos: number;
  load: () => Promise<SourceEntry>;
  caption: number;
}

type Prepared =
  | { pos: number; ok: true; images: Float32Array[]; text: string; key: string; meta: ItemMeta | undefined }
  | { pos: number; ok: false; duplicate: boolean; key: string; reason: string };

function defaultWarn(): (m: string) => void {
  let n = 0;
  return (m) => {
    n++;
    if (n <= 10 || n % 1000 === 0) console.warn(`flm data: ${m}${n === 10 ? ' (further skips are reported every 1000)' : ''}`);
  };
}

export class DataLoader implements AsyncIterable<Batch> {
  readonly source: DatasetSource;
  readonly batchSize: number;
  readonly imageSize: number;
  readonly maxTextLength: number | undefined;
  readonly stats: LoaderStats = { samples: 0, skipped: 0, duplicates: 0, truncated: 0 };
  private readonly opts: LoaderOptions;
  private readonly seed: number;
  private readonly rank: number;
  private readonly world: number;
  private readonly pairs: Pairs | null;
  private readonly imageOpts: ImageOptions;
  private readonly warn: (m: string) => void;
  private decoder: Decoder | null = null;
  private epoch = 0;
  private cursor = 0;
  private batchNo = 0;
  private orderCache: { epoch: number; order: Uint32Array } | null = null;
  private okEver = 0;
  private failRun = 0;

  constructor(source: DatasetSource, opts: LoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new DataError(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (!Number.isInteger(opts.imageSize) || opts.imageSize < 1) throw new DataError(`imageSize must be a positive integer, got ${opts.imageSize}`);
    this.source = source;
    this.opts = opts;
    this.batchSize = opts.batchSize;
    this.imageSize = opts.imageSize;
    this.maxTextLength = opts.maxTextLength ?? opts.tokenizer?.maxLength;
    this.seed = opts.seed ?? 2022;
    this.rank = opts.rank ?? 0;
    this.world = opts.worldSize ?? 1;
    if (!Number.isInteger(this.world) || this.world < 1 || !Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.world) {
      throw new DataError(`rank ${this.rank} / worldSize ${this.world} is not a valid shard`);
    }
    this.pairs = source.kind === 'indexed' ? buildPairs(source, opts.pairs ?? 'all') : null;
    const aug = opts.augment === true ? {} : opts.augment === false || opts.augment === undefined ? undefined : opts.augment;
    this.imageOpts = {
      size: opts.imageSize,
      ...(opts.background !== undefined ? { background: opts.background } : {}),
      ...(aug !== undefined ? { augment: { ...aug, seed: 0 } } : {}),
    };
    this.warn = opts.warn ?? defaultWarn();
  }

  /** Samples per epoch on this rank, when the source is indexed. */
  get epochSize(): number | undefined {
    if (this.pairs === null) return undefined;
    const n = this.pairs.item.length;
    if (this.world === 1) return n;
    return (this.opts.shardMode ?? 'pad') === 'pad' ? Math.ceil(n / this.world) : Math.floor(n / this.world);
  }

  /** Batches per epoch on this rank (an upper bound when samples get skipped). */
  get batchesPerEpoch(): number | undefined {
    const n = this.epochSize;
    if (n === undefined) return undefined;
    return this.opts.dropLast === true ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  state(): LoaderState {
    return { epoch: this.epoch, cursor: this.cursor, batch: this.batchNo, seed: this.seed, rank: this.rank, worldSize: this.world };
  }

  restore(s: LoaderState): void {
    if (s.seed !== this.seed) throw new DataError(`loader state was saved with seed ${s.seed}, this loader uses ${this.seed}`);
    if (s.worldSize !== this.world || s.rank !== this.rank) {
      throw new DataError(`loader state is for rank ${s.rank}/${s.worldSize}, this loader is rank ${this.rank}/${this.world}`);
    }
    if (!Number.isInteger(s.epoch) || s.epoch < 0 || !Number.isInteger(s.cursor) || s.cursor < 0) throw new DataError(`invalid loader state ${JSON.stringify(s)}`);
    this.epoch = s.epoch;
    this.cursor = s.cursor;
    this.batchNo = s.batch ?? 0;
  }

  /** Start the decode workers now rather than on the first batch. */
  start(): void {
    this.decoder ??= createDecoder(this.opts.workers ?? defaultWorkers());
  }

  async close(): Promise<void> {
    await this.decoder?.close();
    this.decoder = null;
  }

  private order(epoch: number): Uint32Array {
    const pairs = this.pairs as Pairs;
    if (this.orderCache?.epoch !== epoch) {
      const full = epochOrder(pairs.item.length, epoch, this.seed, this.opts.shuffle ?? true, pairs.blocks);
      this.orderCache = { epoch, order: shardOrder(full, this.rank, this.world, this.opts.shardMode ?? 'pad') };
    }
    return this.orderCache.order;
  }

  private async *samples(epoch: number, from: number): AsyncGenerator<Sample> {
    const src = this.source;
    if (src.kind === 'indexed') {
      const pairs = this.pairs as Pairs;
      const order = this.order(epoch);
      for (let k = from; k < order.length; k++) {
        const p = order[k] as number;
        const item = pairs.item[p] as number;
        yield { pos: k, load: () => src.get(item), caption: pairs.caption[p] as number };
      }
      return;
    }
    let k = 0;
    const stream = streamOrder(src, epoch, this.seed, this.opts.shuffle ?? true, this.rank, this.world, this.opts.shuffleBuffer ?? 2000, this.opts.pairs ?? 'all');
    for await (const s of stream) {
      if (k >= from) yield { pos: k, load: () => Promise.resolve(s.entry), caption: s.caption };
      k++;
    }
  }

  private async prepare(s: Sample, epoch: number, decoder: Decoder): Promise<Prepared> {
    let entry: SourceEntry;
    try {
      entry = await s.load();
    } catch (e) {
      return { pos: s.pos, ok: false, duplicate: false, key: `#${s.pos}`, reason: (e as Error).message };
    }
    if (!entry.ok) return { pos: s.pos, ok: false, duplicate: false, key: entry.key, reason: entry.reason };
    const item = entry.item;
    const kind = this.source.textKind;
    let text: string | undefined;
    if (s.caption === RANDOM_CAPTION) {
      const unique = dedupeCaptions(item.captions);
      text = unique[hashSeed('caption', this.seed, epoch, item.key) % unique.length];
    } else {
      text = item.captions[s.caption];
      // Duplicate captions of an image are dropped (spec E.4); the sample keeps its place in the order.
      if (kind === 'caption' && text !== undefined && item.captions.indexOf(text) < s.caption) {
        return { pos: s.pos, ok: false, duplicate: true, key: item.key, reason: 'duplicate caption' };
      }
    }
    if (text === undefined) return { pos: s.pos, ok: false, duplicate: false, key: item.key, reason: `no caption ${s.caption}` };
    const seeds = this.imageOpts.augment !== undefined ? item.images.map((_, slot) => hashSeed('augment', this.seed, epoch, item.key, s.caption, slot)) : undefined;
    let res: DecodeResult;
    try {
      res = await decoder.decode({ refs: item.images, opts: this.imageOpts, ...(seeds !== undefined ? { seeds } : {}) });
    } catch (e) {
      return { pos: s.pos, ok: false, duplicate: false, key: item.key, reason: (e as Error).message };
    }
    if (!res.ok) return { pos: s.pos, ok: false, duplicate: false, key: res.origin, reason: res.reason };
    return { pos: s.pos, ok: true, images: res.images, text: this.bounded(preprocessText(text, kind), item.key), key: item.key, meta: item.meta };
  }

  /**
   * A caption cut to what the text length can use, so that caption length never scales memory: a token
   * spans at least one character, and no vocabulary entry is near CHARS_PER_TOKEN long.
   */
  private bounded(text: string, key: string): string {
    const cap = (this.maxTextLength ?? 512) * CHARS_PER_TOKEN;
    if (text.length <= cap) return text;
    if (this.stats.truncated++ === 0) this.warn(`caption of ${key} cut from ${text.length} to ${cap} characters (the text length is ${this.maxTextLength ?? 512} tokens); later cuts are counted in the loader's stats`);
    return text.slice(0, cap);
  }

  private assemble(parts: Array<Prepared & { ok: true }>, epoch: number, index: number, skipped: number): Batch {
    const b = parts.length;
    const s = this.imageSize;
    const plane = 3 * s * s;
    const slots = this.source.imagesPerItem;
    const images = Array.from({ length: slots }, () => new Float32Array(b * plane));
    parts.forEach((p, i) => p.images.forEach((img, slot) => (images[slot] as Float32Array).set(img, i * plane)));
    const texts = parts.map((p) => p.text);
    const tok = this.opts.tokenizer;
    return {
      epoch, index, size: b, imageSize: s, images, imageShape: [b, 3, s, s],
      ...(tok !== undefined ? { text: tok.encodeBatch(texts, this.maxTextLength ?? tok.maxLength) } : {}),
      texts, keys: parts.map((p) => p.key), meta: parts.map((p) => p.meta), skipped,
      state: this.state(),
    };
  }

  private noteFailure(p: Prepared & { ok: false }): void {
    if (p.duplicate) {
      this.stats.duplicates++;
      return;
    }
    this.stats.skipped++;
    this.failRun++;
    this.warn(`skipped ${p.key}: ${p.reason}`);
    const limit = this.opts.failLimit ?? 64;
    if (this.okEver === 0 && this.failRun >= limit) {
      throw new DataError(`${this.source.name}: the first ${this.failRun} samples all failed to load (last: ${p.key}: ${p.reason}); check the paths and image root`);
    }
  }

  /** The remaining batches of the current epoch; afterwards the position moves to the next epoch. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    this.start();
    const decoder = this.decoder as Decoder;
    const epoch = this.epoch;
    const window: Array<Promise<Prepared>> = [];
    const depth = Math.max(1, this.opts.prefetch ?? 2) * this.batchSize;
    const fromStart = this.cursor === 0;
    const it = this.samples(epoch, this.cursor);
    let exhausted = false;
    const fill = async (): Promise<void> => {
      while (!exhausted && window.length < depth) {
        const n = await it.next();
        if (n.done === true) exhausted = true;
        else {
          const p = this.prepare(n.value, epoch, decoder);
          p.catch(() => undefined);
          window.push(p);
        }
      }
    };
    let parts: Array<Prepared & { ok: true }> = [];
    let skipped = 0;
    let sawAny = false;
    try {
      for (;;) {
        await fill();
        const next = window.shift();
        if (next === undefined) break;
        const p = await next;
        sawAny = true;
        this.stats.samples++;
        if (p.ok) {
          this.okEver++;
          this.failRun = 0;
          parts.push(p);
        } else {
          this.noteFailure(p);
          if (!p.duplicate) skipped++;
        }
        if (parts.length === this.batchSize) {
          this.cursor = p.pos + 1;
          const batch = this.assemble(parts, epoch, this.batchNo++, skipped);
          parts = [];
          skipped = 0;
          yield batch;
        }
      }
      if (this.okEver === 0 && sawAny) throw new DataError(`${this.source.name}: no sample could be loaded (${this.stats.skipped} failed); check the paths and image root`);
      if (!sawAny && this.cursor === 0) throw new DataError(`${this.source.name}: the dataset is empty for rank ${this.rank}/${this.world}`);
      const last = this.batchNo;
      if (fromStart && last === 0 && this.opts.dropLast === true) {
        // a whole epoch without one full batch: every later epoch is the same, so training would wait forever
        throw new DataError(`${this.source.name}: ${parts.length} readable sample(s)${this.world > 1 ? ` for rank ${this.rank}/${this.world}` : ''}, fewer than the batch size ${this.batchSize}: no full batch can be formed (lower the batch size or add data)`);
      }
      this.epoch = epoch + 1;
      this.cursor = 0;
      this.batchNo = 0;
      if (parts.length > 0 && this.opts.dropLast !== true) yield this.assemble(parts, epoch, last, skipped);
    } finally {
      await it.return(undefined);
    }
  }

  /** Batches across epochs without end (stop with `break`). */
  async *batches(): AsyncGenerator<Batch> {
    for (;;) yield* this;
  }
}
