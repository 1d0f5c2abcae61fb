/**
 * Meaning representation of captions and NLVR2 statements, and its evaluation against scenes.
 * The generator builds these trees and realises them as text; the parser recovers them from text.
 */
import { IMAGE_QUANTS, type ImageQuant } from './lexicon.js';
import { locationHolds, relationHolds, type Colour, type Location, type Relation, type Scene, type SceneObject, type Shape, type Size } from './scene.js';

/** Attribute filter; an absent field matches anything. */
export interface Pred {
  shape?: Shape;
  colour?: Colour;
  size?: Size;
  loc?: Location;
}

/** "a" = at least one; "one"/"two"/"exactly n" = exactly n; "no" = exactly 0; "at least n". */
export type Quant = { kind: 'exists' } | { kind: 'exactly'; n: number } | { kind: 'atLeast'; n: number };

export interface NP {
  quant: Quant;
  pred: Pred;
}

export type Chunk =
  | { kind: 'np'; np: NP }
  | { kind: 'rel'; subj: NP; rel: Relation; obj: NP };

/** A caption is a conjunction of chunks. */
export interface CaptionAst {
  chunks: Chunk[];
}

export type Statement =
  | { kind: 'each'; quant: ImageQuant; body: CaptionAst }
  /** count(left) <cmp> count(right) of objects matching pred. */
  | { kind: 'compare'; cmp: 'more' | 'fewer' | 'same'; pred: Pred }
  /** The quantifier applies to the union of both images' objects. */
  | { kind: 'total'; np: NP };

export function matches(p: Pred, o: SceneObject): boolean {
  return (
    (p.shape === undefined || p.shape === o.shape) &&
    (p.colour === undefined || p.colour === o.colour) &&
    (p.size === undefined || p.size === o.size) &&
    (p.loc === undefined || locationHolds(p.loc, o))
  );
}

export function matchSet(p: Pred, objects: readonly SceneObject[]): SceneObject[] {
  return objects.filter((o) => matches(p, o));
}

/**
 * Quantify over the matching objects. For "exactly n" with n > 0 the set must have n members and
 * all of them must satisfy f ("two green triangles above a star": both are above it).
 */
function quantify(q: Quant, set: readonly SceneObject[], f: (o: SceneObject) => boolean): boolean {
  switch (q.kind) {
    case 'exists': return set.some(f);
    case 'atLeast': return set.filter(f).length >= q.n;
    case 'exactly': return q.n === 0 ? !set.some(f) : set.length === q.n && set.every(f);
  }
}

export function evalChunk(c: Chunk, scene: Scene): boolean {
  const objs = scene.objects;
  if (c.kind === 'np') return quantify(c.np.quant, matchSet(c.np.pred, objs), () => true);
  const subj = matchSet(c.subj.pred, objs);
  const obj = matchSet(c.obj.pred, objs);
  return quantify(c.subj.quant, subj, (x) => quantify(c.obj.quant, obj, (y) => x !== y && relationHolds(c.rel, x, y)));
}

export function evalCaption(c: CaptionAst, scene: Scene): boolean {
  return c.chunks.every((ch) => evalChunk(ch, scene));
}

export function combineImages(q: ImageQuant, l: boolean, r: boolean): boolean {
  switch (q) {
    case 'left': return l;
    case 'right': return r;
    case 'both': return l && r;
    case 'exactlyOne': return l !== r;
    case 'atLeastOne': return l || r;
    case 'neither': return !l && !r;
  }
}

/**
 * The kind of a statement, for accuracy per kind and for restricting a dataset to some kinds:
 * "exists/<images>" (whether a kind of object is there: "a red circle", "no stars", "at least one
 * square"), "count/<images>" (how many: "exactly two circles", "at least three shapes"),
 * "relation/<images>", "compare" (the left image's count against the right one's) or "total" (a count over
 * both images together). <images> is the images the statement is about: left, right, both, exactlyOne,
 * atLeastOne or neither. A body joining several parts takes the hardest: a relation, else a count.
 */
export function statementType(s: Statement): string {
  if (s.kind !== 'each') return s.kind;
  if (s.body.chunks.some((c) => c.kind === 'rel')) return `relation/${s.quant}`;
  const existence = (q: Quant): boolean => q.kind === 'exists' || (q.kind === 'exactly' && q.n === 0) || (q.kind === 'atLeast' && q.n <= 1);
  const counts = s.body.chunks.some((c) => c.kind === 'np' && !existence(c.np.quant));
  return `${counts ? 'count' : 'exists'}/${s.quant}`;
}

/** The statement forms statementType names, before any "/<images>". */
export const STATEMENT_FORMS = ['exists', 'count', 'relation', 'compare', 'total'] as const;
const EACH_FORMS: readonly string[] = ['exists', 'count', 'relation'];

/** Kinds of statement (forms or types) checked and deduplicated; an unknown one is an error naming the known ones. */
export function checkStatementKinds(kinds: readonly string[]): string[] {
  for (const k of kinds) {
    const [form, images, extra] = k.split('/');
    const known = (STATEMENT_FORMS as readonly string[]).includes(form ?? '') && extra === undefined
      && (images === undefined || (EACH_FORMS.includes(form ?? '') && (IMAGE_QUANTS as readonly string[]).includes(images)));
    if (!known) {
      throw new Error(`ShapesWorld: unknown kind of NLVR2 statement "${k}": a form (${STATEMENT_FORMS.join(', ')}) or, for ${EACH_FORMS.join(', ')}, form/images with images one of ${IMAGE_QUANTS.join(', ')}`);
    }
  }
  return [...new Set(kinds)];
}

/** Whether the statement is of one of the kinds (a form matches all its types). */
export function statementOfKind(s: Statement, kinds: readonly string[]): boolean {
  const type = statementType(s);
  const form = type.split('/')[0]!;
  return kinds.some((k) => k === type || k === form);
}

export function evalStatement(s: Statement, left: Scene, right: Scene): boolean {
  switch (s.kind) {
    case 'each':
      return combineImages(s.quant, evalCaption(s.body, left), evalCaption(s.body, right));
    case 'compare': {
      const nl = matchSet(s.pred, left.objects).length;
      const nr = matchSet(s.pred, right.objects).length;
      return s.cmp === 'more' ? nl > nr : s.cmp === 'fewer' ? nl < nr : nl === nr;
    }
    case 'total':
      return evalChunk({ kind: 'np', np: s.np }, { objects: left.objects.concat(right.objects) });
  }
}

/** NPs mentioned by a caption, in order. */
export function captionNPs(c: CaptionAst): NP[] {
  return c.chunks.flatMap((ch) => (ch.kind === 'np' ? [ch.np] : [ch.subj, ch.obj]));
}
