/**
 * Scene graph of the shapes world and its seeded sampler.
 *
 * Coordinates are in image units: x to the right, y downwards, both in [0, 1]. `r` is the radius of
 * the circle that bounds the drawn shape; objects never overlap (their bounding circles keep a gap).
 */
import { Prng } from '../rng.js';

export const SHAPES = ['circle', 'square', 'triangle', 'star', 'cross', 'diamond'] as const;
export type Shape = (typeof SHAPES)[number];

export const COLOURS = ['red', 'orange', 'yellow', 'green', 'cyan', 'blue', 'purple'] as const;
export type Colour = (typeof COLOURS)[number];

export const SIZES = ['small', 'large'] as const;
export type Size = (typeof SIZES)[number];

/** Well separated hues, all bright against the dark background. */
export const COLOUR_RGB: Readonly<Record<Colour, readonly [number, number, number]>> = {
  red: [230, 35, 35],
  orange: [255, 145, 20],
  yellow: [245, 230, 40],
  green: [40, 185, 60],
  cyan: [40, 215, 225],
  blue: [45, 85, 245],
  purple: [165, 65, 225],
};

export const BACKGROUND_RGB: readonly [number, number, number] = [40, 40, 40];

/** Bounding radius per size class: "small" and "large" differ by a factor of 1.7. */
export const SIZE_RADIUS: Readonly<Record<Size, number>> = { small: 0.13, large: 0.22 };

/** Minimum gap between bounding circles and from the border (image units). */
const OBJECT_GAP = 0.04;
const BORDER_GAP = 0.02;

export interface SceneObject {
  shape: Shape;
  colour: Colour;
  size: Size;
  /** Centre, image units. */
  x: number;
  y: number;
  /** Bounding radius, image units. */
  r: number;
}

export interface Scene {
  objects: SceneObject[];
}

export type Combo = readonly [Colour, Shape];

/** Colour-shape combinations held out of train/val/test and present in test_compositional. */
export const DEFAULT_HELD_OUT: readonly Combo[] = [
  ['red', 'triangle'],
  ['blue', 'star'],
  ['green', 'square'],
  ['yellow', 'circle'],
];

export function isHeldOut(o: { colour: Colour; shape: Shape }, heldOut: readonly Combo[]): boolean {
  return heldOut.some(([c, s]) => c === o.colour && s === o.shape);
}

export interface SampleOptions {
  heldOut: readonly Combo[];
  /** 'exclude': no held-out combination anywhere; 'require': at least one object has one. */
  heldOutMode: 'exclude' | 'require';
  minObjects?: number;
  maxObjects?: number;
}

type Attrs = Pick<SceneObject, 'shape' | 'colour' | 'size'>;

function allowedCombos(heldOut: readonly Combo[]): Combo[] {
  const out: Combo[] = [];
  for (const c of COLOURS) for (const s of SHAPES) if (!isHeldOut({ colour: c, shape: s }, heldOut)) out.push([c, s]);
  return out;
}

function sampleAttrs(rng: Prng, count: number, opts: SampleOptions): Attrs[] {
  const allowed = allowedCombos(opts.heldOut);
  const attrs: Attrs[] = [];
  for (let k = 0; k < count; k++) {
    let combo: Combo;
    if (k === 0 && opts.heldOutMode === 'require') {
      if (opts.heldOut.length === 0) throw new Error('heldOutMode "require" needs a held-out combination');
      combo = rng.pick(opts.heldOut);
    } else if (k > 0 && rng.chance(0.25)) {
      // Repeat an earlier colour+shape so that counts ("two green triangles") occur often.
      const prev = rng.pick(attrs);
      combo = [prev.colour, prev.shape];
    } else {
      const pool = opts.heldOutMode === 'require' ? allowed.concat(opts.heldOut) : allowed;
      combo = rng.pick(pool);
    }
    attrs.push({ colour: combo[0], shape: combo[1], size: rng.pick(SIZES) });
  }
  return rng.shuffled(attrs);
}

function place(rng: Prng, attrs: readonly Attrs[]): SceneObject[] | null {
  const placed: SceneObject[] = [];
  // Large objects first: they are the hard ones to fit.
  const order = attrs.slice().sort((a, b) => SIZE_RADIUS[b.size] - SIZE_RADIUS[a.size]);
  for (const a of order) {
    const r = SIZE_RADIUS[a.size];
    let ok = false;
    for (let tries = 0; tries < 200 && !ok; tries++) {
      const x = rng.uniform(r + BORDER_GAP, 1 - r - BORDER_GAP);
      const y = rng.uniform(r + BORDER_GAP, 1 - r - BORDER_GAP);
      ok = placed.every((p) => Math.hypot(p.x - x, p.y - y) >= p.r + r + OBJECT_GAP);
      if (ok) placed.push({ ...a, x, y, r });
    }
    if (!ok) return null;
  }
  return placed;
}

/** Sample one scene. Deterministic in the rng state. */
export function sampleScene(rng: Prng, opts: SampleOptions): Scene {
  const lo = opts.minObjects ?? 1;
  const hi = opts.maxObjects ?? 4;
  const counts = [1, 2, 3, 4].filter((c) => c >= lo && c <= hi);
  const weights = counts.map((c) => [0.15, 0.3, 0.3, 0.25][c - 1] ?? 0);
  const count = rng.weighted(counts, weights);
  for (let attempt = 0; ; attempt++) {
    const attrs = sampleAttrs(rng, count, opts);
    const objects = place(rng, attrs);
    if (objects) return { objects: rng.shuffled(objects) };
    if (attempt > 1000) throw new Error('sampleScene: could not place objects');
  }
}

// ---- geometry shared by the grammar, the checker and the tasks ----

export type Relation = 'left' | 'right' | 'above' | 'below' | 'bigger' | 'smaller';

export const INVERSE_RELATION: Readonly<Record<Relation, Relation>> = {
  left: 'right',
  right: 'left',
  above: 'below',
  below: 'above',
  bigger: 'smaller',
  smaller: 'bigger',
};

/** Truth of "a <rel> b" as judged by the checker: plain centre order / size order. */
export function relationHolds(rel: Relation, a: SceneObject, b: SceneObject): boolean {
  switch (rel) {
    case 'left': return a.x < b.x;
    case 'right': return a.x > b.x;
    case 'above': return a.y < b.y;
    case 'below': return a.y > b.y;
    case 'bigger': return a.r > b.r;
    case 'smaller': return a.r < b.r;
  }
}

/** Spatial relations are only stated when they hold with this margin along the dominant axis. */
const REL_MARGIN = 0.15;

/** Whether "a <rel> b" is clear enough to be stated by a generator (a margin beyond `relationHolds`). */
export function relationClear(rel: Relation, a: SceneObject, b: SceneObject): boolean {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  switch (rel) {
    case 'left': return dx >= REL_MARGIN && dx >= 0.5 * Math.abs(dy);
    case 'right': return -dx >= REL_MARGIN && -dx >= 0.5 * Math.abs(dy);
    case 'above': return dy >= REL_MARGIN && dy >= 0.5 * Math.abs(dx);
    case 'below': return -dy >= REL_MARGIN && -dy >= 0.5 * Math.abs(dx);
    case 'bigger': return a.size === 'large' && b.size === 'small';
    case 'smaller': return a.size === 'small' && b.size === 'large';
  }
}

export type Location = 'left' | 'right' | 'top' | 'bottom' | 'top left' | 'top right' | 'bottom left' | 'bottom right' | 'centre';

export const LOCATIONS: readonly Location[] = [
  'left', 'right', 'top', 'bottom', 'top left', 'top right', 'bottom left', 'bottom right', 'centre',
];

/** Checker truth of an absolute location (halves of the image; centre = middle 40%). */
export function locationHolds(loc: Location, o: SceneObject): boolean {
  const parts = loc.split(' ');
  if (loc === 'centre') return Math.abs(o.x - 0.5) < 0.2 && Math.abs(o.y - 0.5) < 0.2;
  return parts.every((p) =>
    p === 'left' ? o.x < 0.5 : p === 'right' ? o.x > 0.5 : p === 'top' ? o.y < 0.5 : o.y > 0.5,
  );
}

/** Locations clear enough to be stated by a generator. */
export function clearLocations(o: SceneObject): Location[] {
  const out: Location[] = [];
  const h = o.x <= 0.35 ? 'left' : o.x >= 0.65 ? 'right' : null;
  const v = o.y <= 0.35 ? 'top' : o.y >= 0.65 ? 'bottom' : null;
  if (h) out.push(h);
  if (v) out.push(v);
  if (h && v) out.push(`${v} ${h}` as Location);
  if (Math.abs(o.x - 0.5) <= 0.1 && Math.abs(o.y - 0.5) <= 0.1) out.push('centre');
  return out;
}
