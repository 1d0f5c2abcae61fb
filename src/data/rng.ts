/**
 * The one seeded PRNG of the data side (shuffles, augmentation, data order, retrieval negatives, the
 * shapes world). Written here (not a dependency) because every draw must be a pure function of
 * (seed, epoch, index, ...) for exact resume and reproducible datasets, and the generator is a few lines.
 *
 * One generator (mulberry32, `Prng`) and two ways to turn keys into its 32-bit seed. They give
 * different seeds for the same keys and both are pinned by recorded streams, so neither may change:
 *   hashSeed(...keys)   FNV-1a over the keys joined as text, murmur3 finish. Data order, caption
 *                       choice, augmentation, streamed shards and buffers, retrieval negatives,
 *                       zero-shot seeds: `new Prng(hashSeed(...))`.
 *   mixSeed(...keys)    each key folded in as an integer (numbers exactly, strings by FNV-1a) with a
 *                       splitmix-style avalanche per key. The shapes world: `Prng.fromKeys(...)`.
 */

export type SeedKey = number | string;

/** 32-bit hash of a list of keys (FNV-1a over the text, finished with a murmur3 mix). */
export function hashSeed(...keys: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5;
  const s = keys.join('\u0001');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mix32(h: number, v: number): number {
  // splitmix-style avalanche of (h ^ v); keeps consecutive item indices uncorrelated.
  let x = (h ^ v) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return (x + 0x9e3779b9) >>> 0;
}

function keyToInt(k: SeedKey): number {
  if (typeof k === 'number') {
    // Fold the high bits of non-32-bit integers in as well, so 2**32 and 0 differ.
    const lo = k >>> 0;
    const hi = Math.floor(k / 4294967296) >>> 0;
    return (lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
  }
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < k.length; i++) {
    h ^= k.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Mixes any number of keys into one 32-bit seed, key by key with integer-only arithmetic (so the same
 * keys give the same stream on every platform). The shapes world's seeding (was shapes/rng.ts hashSeed).
 */
export function mixSeed(...keys: readonly SeedKey[]): number {
  let h = 0x6a09e667;
  for (const k of keys) h = mix32(h, keyToInt(k));
  return h;
}

/** mulberry32: fast, 32-bit state, good enough statistical quality for data order and augmentation. */
export class Prng {
  private state: number;

  /** A generator on a 32-bit seed (e.g. from hashSeed). */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A generator on the keys mixed by mixSeed (the shapes world's seeding). */
  static fromKeys(...keys: readonly SeedKey[]): Prng {
    return new Prng(mixSeed(...keys));
  }

  /** Uniform uint32. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  intBetween(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One item, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Prng.pick: empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Pick with relative weights (same length as items). */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      u -= weights[i] ?? 0;
      if (u < 0) return items[i] as T;
    }
    return items[items.length - 1] as T;
  }

  /** In-place Fisher-Yates shuffle (arrays and typed arrays); returns `a`. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Fisher-Yates on a copy (the same draws as shuffle); `items` is left as it is. */
  shuffled<T>(items: readonly T[]): T[] {
    return this.shuffle(items.slice());
  }

  /** A child generator keyed off this one's next output and `keys` (does not share state). */
  fork(...keys: readonly SeedKey[]): Prng {
    return Prng.fromKeys(this.nextU32(), ...keys);
  }
}

/** A seeded permutation of [0, n). */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return new Prng(seed).shuffle(p);
}
