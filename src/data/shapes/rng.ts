/**
 * Small seeded PRNG (mulberry32) with integer-only seeding, so that the same keys give the same
 * stream on every platform. Keys may be numbers or strings; they are mixed into one 32-bit seed.
 */

export type SeedKey = number | string;

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

/** Hash any number of keys into one 32-bit seed. */
export function hashSeed(...keys: readonly SeedKey[]): number {
  let h = 0x6a09e667;
  for (const k of keys) h = mix32(h, keyToInt(k));
  return h;
}

export class Rng {
  private state: number;

  constructor(...keys: readonly SeedKey[]) {
    this.state = hashSeed(...keys);
  }

  /** Uniform uint32. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
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

  /** Fisher-Yates; returns a new array. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** A child generator keyed off this one's next output (does not share state). */
  fork(...keys: readonly SeedKey[]): Rng {
    return new Rng(this.nextU32(), ...keys);
  }
}
