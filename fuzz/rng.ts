// A small seeded generator for the fuzzer: call i of run `seed` always draws the same numbers, so any
// single call can be replayed alone (fuzz --seed S --only i).
export class Rng {
  #s: number;
  constructor(seed: number, index: number) {
    // splitmix-style mixing of (seed, index) into a 32-bit state
    let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 0x632be5ab, 0xc2b2ae35)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
    this.#s = (h ^ (h >>> 16)) >>> 0;
  }
  /** uniform in [0, 1) (mulberry32) */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}
