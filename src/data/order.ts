/**
 * Which sample comes when: (image, caption) pair expansion, the seeded per-epoch order, sharding by
 * rank, and the shuffle buffer of streamed sources. Every function is pure in (seed, epoch, rank), so
 * a resumed run can rebuild the exact order and skip to its cursor.
 */
import { hashSeed, permutation, Prng } from './rng.js';
import type { IndexedSource, SourceEntry, StreamSource } from './types.js';

/**
 * 'all': every caption of an image is a sample (spec E.6); 'first': one sample per image with its
 * first caption; 'random': one sample per image with a caption drawn per epoch.
 */
export type PairMode = 'all' | 'first' | 'random';

/** Caption index meaning "draw one per epoch". */
export const RANDOM_CAPTION = 0xffffffff;

export interface Pairs {
  item: Uint32Array;
  caption: Uint32Array;
  /** Sizes of consecutive pair ranges that share a source block (Arrow record batch). */
  blocks?: number[];
}

export function buildPairs(src: IndexedSource, mode: PairMode): Pairs {
  const counts = new Uint32Array(src.length);
  let total = 0;
  for (let i = 0; i < src.length; i++) {
    const c = mode === 'all' ? src.captionCount(i) : Math.min(1, src.captionCount(i));
    counts[i] = c;
    total += c;
  }
  const item = new Uint32Array(total);
  const caption = new Uint32Array(total);
  let k = 0;
  for (let i = 0; i < src.length; i++) {
    for (let c = 0; c < (counts[i] as number); c++) {
      item[k] = i;
      caption[k++] = mode === 'random' ? RANDOM_CAPTION : c;
    }
  }
  const out: Pairs = { item, caption };
  if (src.blocks !== undefined) {
    const blocks: number[] = [];
    let i = 0;
    for (const size of src.blocks) {
      let pairs = 0;
      for (let j = 0; j < size; j++) pairs += counts[i++] as number;
      blocks.push(pairs);
    }
    out.blocks = blocks;
  }
  return out;
}

/**
 * The epoch's order of [0, n): a seeded permutation, or with blocks a permutation of the blocks and
 * of the positions inside each block (so a block is read once per epoch, not once per row).
 */
export function epochOrder(n: number, epoch: number, seed: number, shuffle: boolean, blocks?: readonly number[]): Uint32Array {
  if (!shuffle) {
    const id = new Uint32Array(n);
    for (let i = 0; i < n; i++) id[i] = i;
    return id;
  }
  if (blocks === undefined || blocks.length <= 1) return permutation(n, hashSeed('order', seed, epoch));
  const starts: number[] = [];
  let s = 0;
  for (const b of blocks) {
    starts.push(s);
    s += b;
  }
  const out = new Uint32Array(n);
  let k = 0;
  const blockPerm = permutation(blocks.length, hashSeed('blocks', seed, epoch));
  for (const b of blockPerm) {
    const inner = permutation(blocks[b] as number, hashSeed('rows', seed, epoch, b));
    for (const r of inner) out[k++] = (starts[b] as number) + r;
  }
  return out;
}

export type ShardMode = 'pad' | 'drop';

/**
 * The rank's share of an epoch order: positions rank, rank + W, ... ('pad' repeats the start of the
 * order so every rank gets ceil(n / W) samples, like torch's DistributedSampler; 'drop' cuts the tail
 * to floor(n / W) so the ranks are disjoint).
 */
export function shardOrder(order: Uint32Array, rank: number, world: number, mode: ShardMode): Uint32Array {
  if (world === 1) return order;
  const n = order.length;
  const per = mode === 'pad' ? Math.ceil(n / world) : Math.floor(n / world);
  const out = new Uint32Array(per);
  for (let k = 0; k < per; k++) out[k] = order[(rank + k * world) % n] as number;
  return out;
}

export interface StreamSample {
  entry: SourceEntry;
  /** Caption index, or RANDOM_CAPTION. */
  caption: number;
  /** Position of the entry in the rank's stream before shuffling (for augmentation seeds). */
  serial: number;
}

/**
 * A streamed source's samples for one rank and epoch: shards in a seeded order (split over ranks when
 * there are at least as many shards as ranks, otherwise every W-th sample), then a seeded shuffle
 * buffer. Captions are expanded into samples before the buffer, so an image's captions spread out.
 */
export async function* streamOrder(
  src: StreamSource, epoch: number, seed: number, shuffle: boolean, rank: number, world: number, bufferSize: number, pairs: PairMode,
): AsyncGenerator<StreamSample> {
  const shards = [...src.shards];
  if (shuffle) new Prng(hashSeed('shards', seed, epoch)).shuffle(shards);
  const byShard = shards.length >= world;
  const mine = byShard ? shards.filter((_, i) => i % world === rank) : shards;
  const rng = new Prng(hashSeed('buffer', seed, epoch, rank));
  const buffer: StreamSample[] = [];
  let serial = 0;
  let n = 0;
  for await (const entry of src.stream(mine)) {
    if (!byShard && n++ % world !== rank) continue;
    const k = !entry.ok ? 1 : pairs === 'all' ? entry.item.captions.length : 1;
    const id = serial++;
    for (let c = 0; c < k; c++) {
      const s: StreamSample = { entry, caption: entry.ok && pairs === 'random' ? RANDOM_CAPTION : c, serial: id };
      if (!shuffle || bufferSize <= 1) {
        yield s;
        continue;
      }
      if (buffer.length < bufferSize) {
        buffer.push(s);
        continue;
      }
      const j = rng.int(buffer.length);
      yield buffer[j] as StreamSample;
      buffer[j] = s;
    }
  }
  while (buffer.length > 0) {
    const j = rng.int(buffer.length);
    const last = buffer.pop() as StreamSample;
    if (j < buffer.length) {
      yield buffer[j] as StreamSample;
      buffer[j] = last;
    } else yield last;
  }
}
