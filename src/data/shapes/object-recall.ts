/**
 * Object recall of a caption: the share of the scene's objects whose colour and shape the caption
 * names together ("a red circle" recalls one red circle, "two red circles" two, "a large red circle"
 * only a large one). It complements semantic accuracy, which a short true caption ("there is a red
 * shape") can win: recall rewards describing the whole scene. Each object is recalled at most once
 * (a maximum matching of named objects to scene objects), so naming more than the scene holds gains
 * nothing.
 *
 * A caption inside the grammar is read through its parse (post-modifiers such as "a circle that is
 * red" included); any other caption through its noun-phrase-like segments, so a caption that breaks
 * the grammar halfway still earns what it names correctly.
 */
import { COLOUR_WORDS, NUMBER_WORDS, SHAPE_WORDS, SIZE_WORDS } from './lexicon.js';
import { parseCaption, ParseError, tokenize } from './parse.js';
import { captionNPs, matches, type NP } from './semantics.js';
import type { Colour, Scene, Shape, Size } from './scene.js';

/** A colour + shape (and maybe size) named with a count. */
interface Mention {
  colour: Colour;
  shape: Shape;
  size?: Size;
  count: number;
}

function quantCount(q: NP['quant']): number {
  return q.kind === 'exists' ? 1 : q.n;
}

function parsedMentions(caption: string): Mention[] | null {
  try {
    return captionNPs(parseCaption(caption)).flatMap((np) =>
      np.pred.colour !== undefined && np.pred.shape !== undefined
        ? [{ colour: np.pred.colour, shape: np.pred.shape, ...(np.pred.size ? { size: np.pred.size } : {}), count: quantCount(np.quant) }]
        : []);
  } catch (e) {
    if (e instanceof ParseError) return null;
    throw e;
  }
}

const SIZE_OF = new Map<string, Size>(Object.entries(SIZE_WORDS).flatMap(([z, ws]) => ws.map((w) => [w, z as Size] as const)));
const COLOUR_OF = new Map<string, Colour>(Object.entries(COLOUR_WORDS).flatMap(([c, ws]) => ws.map((w) => [w, c as Colour] as const)));
/** Shape nouns by their last word ("plus sign" -> "sign"), singular and plural. */
const SHAPE_OF = new Map<string, { shape: Shape; plural: boolean }>(Object.entries(SHAPE_WORDS).flatMap(([s, f]) => [
  ...f.sg.map((w) => [w.split(' ').at(-1)!, { shape: s as Shape, plural: false }] as const),
  ...f.pl.map((w) => [w.split(' ').at(-1)!, { shape: s as Shape, plural: true }] as const),
]));
const NUMBER_OF = new Map<string, number>([...NUMBER_WORDS.map((w, i) => [w, i] as const), ['a', 1], ['an', 1], ['single', 1], ['no', 0]]);

/**
 * Segments start at a determiner or number word, or where a word repeats a slot the phrase has
 * filled; each names at most one colour + shape.
 */
function lexicalMentions(caption: string): Mention[] {
  const out: Mention[] = [];
  let count: number | undefined;
  let colour: Colour | undefined;
  let size: Size | undefined;
  let shape: { shape: Shape; plural: boolean } | undefined;
  const flush = () => {
    if (colour !== undefined && shape !== undefined) out.push({ colour, shape: shape.shape, ...(size ? { size } : {}), count: count ?? (shape.plural ? 2 : 1) });
    count = colour = size = shape = undefined;
  };
  for (const w of tokenize(caption)) {
    const n = NUMBER_OF.get(w) ?? (/^\d+$/.test(w) ? Number(w) : undefined);
    if (n !== undefined && w !== 'single') {
      flush();
      count = n;
    } else if (w === ';' || w === ',' || w === ':') flush();
    else if (COLOUR_OF.has(w)) {
      // a colour after the noun attaches to it ("a circle that is red") unless the phrase has one
      if (colour !== undefined) flush();
      colour = COLOUR_OF.get(w);
    } else if (SIZE_OF.has(w)) {
      if (size !== undefined || shape !== undefined) flush();
      size = SIZE_OF.get(w);
    } else if (SHAPE_OF.has(w)) {
      if (shape !== undefined) flush();
      shape = SHAPE_OF.get(w);
    }
  }
  flush();
  return out;
}

/** Object recall of one caption against its scene, in [0, 1] (1 for an empty scene). */
export function objectRecall(caption: string, scene: Scene): number {
  const objects = scene.objects;
  if (objects.length === 0) return 1;
  // one slot per named object, capped by what could match at all
  const slots = (parsedMentions(caption) ?? lexicalMentions(caption)).flatMap((m) =>
    Array.from({ length: Math.min(m.count, objects.length) }, () => m));
  // Kuhn's augmenting paths: a maximum matching of slots to objects (a few objects per scene)
  const owner: (number | undefined)[] = new Array(objects.length).fill(undefined);
  const place = (slot: number, seen: boolean[]): boolean => {
    for (let o = 0; o < objects.length; o++) {
      if (seen[o] || !matches(slots[slot]!, objects[o]!)) continue;
      seen[o] = true;
      if (owner[o] === undefined || place(owner[o]!, seen)) {
        owner[o] = slot;
        return true;
      }
    }
    return false;
  };
  let recalled = 0;
  for (let s = 0; s < slots.length && recalled < objects.length; s++) if (place(s, new Array<boolean>(objects.length).fill(false))) recalled++;
  return recalled / objects.length;
}
