/**
 * The scenes of the emoji image-text set, as pure functions of (seed, split, index): one or two emoji
 * drawn from real artwork on a plain background, each in one of two art styles, with captions that
 * name them, their arrangement and the background.
 *
 * The split tests generalisation: every unordered pair of concepts belongs to exactly one side (a
 * seeded hash sends 20% of the pairs to val/test), so a two-emoji test image always shows a pairing
 * never seen in training, at a new place, size, style mix and background. Single-emoji images are new
 * renderings of known concepts.
 */
import { hashSeed, Prng } from '../rng.js';
import { DataError } from '../types.js';
import { EMOJI_STYLES, type EmojiStyle } from './artwork.js';

export const EMOJI_SPLITS = ['train', 'val', 'test'] as const;
export type EmojiSplit = (typeof EMOJI_SPLITS)[number];

/** Background colours: a name for the captions, an RGB triple for the canvas. */
export const BACKGROUNDS: ReadonlyArray<{ name: string; rgb: readonly [number, number, number] }> = [
  { name: 'white', rgb: [245, 245, 245] },
  { name: 'black', rgb: [20, 20, 20] },
  { name: 'grey', rgb: [128, 128, 128] },
  { name: 'red', rgb: [200, 40, 40] },
  { name: 'green', rgb: [40, 160, 60] },
  { name: 'blue', rgb: [40, 80, 200] },
  { name: 'yellow', rgb: [235, 210, 40] },
  { name: 'purple', rgb: [130, 50, 170] },
];

/** One emoji placed on the canvas (pixels, top-left corner and side). */
export interface PlacedEmoji { concept: string; style: EmojiStyle; left: number; top: number; side: number }

export interface EmojiScene {
  id: string;
  split: EmojiSplit;
  background: (typeof BACKGROUNDS)[number];
  objects: PlacedEmoji[];
  /** 'single', or how the two objects are arranged: first left of / above second */
  layout: 'single' | 'horizontal' | 'vertical';
  captions: string[];
}

/** Share of the unordered concept pairs that only appear in val/test. */
export const HELD_OUT_PAIR_SHARE = 0.2;

export function isHeldOutPair(seed: number, a: string, b: string): boolean {
  const [x, y] = a < b ? [a, b] : [b, a];
  return hashSeed('emoji-pair', seed, x, y) / 4294967296 < HELD_OUT_PAIR_SHARE;
}

/** "red-apple" -> "red apple" (the Unicode names, as words). */
export const conceptWords = (concept: string): string => concept.replace(/-/g, ' ');

const withArticle = (words: string): string => `${/^[aeiou]/.test(words) ? 'an' : 'a'} ${words}`;

function sceneCaptions(layout: EmojiScene['layout'], objects: PlacedEmoji[], bg: string): string[] {
  const [a, b] = objects.map((o) => withArticle(conceptWords(o.concept)));
  if (layout === 'single') return [`${a} on a ${bg} background`, `${a}`, `a picture of ${a}`];
  const [near, far] = layout === 'horizontal' ? ['to the left of', 'to the right of'] : ['above', 'below'];
  return [`${a} ${near} ${b}`, `${b} ${far} ${a}`, `${a} and ${b} on a ${bg} background`];
}

export interface EmojiSceneConfig {
  seed: number;
  /** image side in pixels */
  size: number;
  /** the concepts, in a fixed order */
  concepts: readonly string[];
  /** share of single-emoji scenes */
  singleShare: number;
}

/** The scene `index` of `split`: a pure function of the config, the split and the index. */
export function emojiScene(c: EmojiSceneConfig, split: EmojiSplit, index: number): EmojiScene {
  if (c.concepts.length < 3) throw new DataError(`emoji: need at least 3 concepts, got ${c.concepts.length}`);
  const rng = Prng.fromKeys('emoji-scene', c.seed, split, index);
  const S = c.size;
  const style = (): EmojiStyle => rng.pick(EMOJI_STYLES);
  const background = rng.pick(BACKGROUNDS);
  const id = `emoji-${split}-${index}`;
  if (rng.chance(c.singleShare)) {
    const side = Math.round(S * rng.uniform(0.5, 0.8));
    const o: PlacedEmoji = { concept: rng.pick(c.concepts), style: style(), left: rng.intBetween(0, S - side), top: rng.intBetween(0, S - side), side };
    return { id, split, background, objects: [o], layout: 'single', captions: sceneCaptions('single', [o], background.name) };
  }
  const heldOut = split !== 'train';
  let a = '';
  let b = '';
  // a held-out pair turns up once in 1/HELD_OUT_PAIR_SHARE draws: 200 tries fail with odds ~1e-19
  for (let t = 0; t < 200; t++) {
    a = rng.pick(c.concepts);
    b = rng.pick(c.concepts);
    if (a !== b && isHeldOutPair(c.seed, a, b) === heldOut) break;
    a = b = '';
  }
  if (a === '') throw new DataError(`emoji: no ${heldOut ? 'held-out' : 'training'} concept pair found (too few concepts)`);
  const layout = rng.chance(0.5) ? 'horizontal' : 'vertical';
  const half = S / 2;
  const place = (concept: string, slot: 0 | 1): PlacedEmoji => {
    const side = Math.round(S * rng.uniform(0.38, 0.48));
    const along = Math.round(slot * half + rng.uniform(0, half - side)); // inside its half
    const across = rng.intBetween(0, S - side);
    return layout === 'horizontal'
      ? { concept, style: style(), left: along, top: across, side }
      : { concept, style: style(), left: across, top: along, side };
  };
  const objects = [place(a, 0), place(b, 1)];
  return { id, split, background, objects, layout, captions: sceneCaptions(layout, objects, background.name) };
}
