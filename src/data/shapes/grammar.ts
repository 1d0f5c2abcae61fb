/**
 * Caption grammar: realises meaning trees (semantics.ts) as varied English, generates captions
 * that cover every object of a scene, and checks arbitrary captions against a scene.
 */
import {
  article, COLOUR_WORDS, GENERIC_NOUNS, IMAGE_SUBJECTS, LOCATION_WORDS, NUMBER_WORDS, RELATION_WORDS, SHAPE_WORDS, SIZE_WORDS,
} from './lexicon.js';
import { ParseError, parseCaption } from './parse.js';
import { Prng } from '../rng.js';
import { clearLocations, relationClear, type Relation, type Scene, type SceneObject } from './scene.js';
import { captionNPs, evalCaption, evalChunk, matchSet, type CaptionAst, type Chunk, type NP, type Pred, type Statement } from './semantics.js';

// ---------------------------------------------------------------- realisation

function isPlural(np: NP): boolean {
  const q = np.quant;
  return q.kind === 'exactly' ? q.n !== 1 : q.kind === 'atLeast' ? q.n !== 1 : false;
}

function numberWord(n: number): string {
  return NUMBER_WORDS[n] ?? String(n);
}

export interface RealiseOptions {
  /** Probability of moving adjectives after the noun ("a circle that is red"). */
  postModifier?: number;
  /** Probability of writing an exact count as "exactly two". */
  explicitExactly?: number;
}

/** Realise a noun phrase with randomly chosen synonyms and word order. */
export function realiseNP(np: NP, rng: Prng, opts: RealiseOptions = {}): string {
  const plural = isPlural(np);
  const p = np.pred;
  const noun = p.shape ? rng.pick(plural ? SHAPE_WORDS[p.shape].pl : SHAPE_WORDS[p.shape].sg) : rng.pick(plural ? GENERIC_NOUNS.pl : GENERIC_NOUNS.sg);
  const size = p.size ? rng.pick(SIZE_WORDS[p.size]) : undefined;
  const colour = p.colour ? rng.pick(COLOUR_WORDS[p.colour]) : undefined;
  const pre: string[] = [];
  const post: string[] = [];
  const adjs = [size, colour].filter((a): a is string => a !== undefined);
  if (adjs.length > 0 && rng.chance(opts.postModifier ?? 0)) {
    const which = rng.chance(0.5) ? 'that' : 'which';
    if (colour && size && rng.chance(0.4)) {
      pre.push(size);
      post.push(rng.chance(0.5) ? `in ${colour}` : `${which} ${plural ? 'are' : 'is'} ${colour}`);
    } else {
      post.push(`${which} ${plural ? 'are' : 'is'} ${rng.shuffled(adjs).join(' and ')}`);
    }
  } else {
    pre.push(...adjs);
  }
  const head = [...pre, noun].join(' ');
  const q = np.quant;
  let det: string;
  if (q.kind === 'exists') det = article(head);
  else if (q.kind === 'atLeast') det = `at least ${numberWord(q.n)}`;
  else if (q.n === 0) det = 'no';
  else if (rng.chance(opts.explicitExactly ?? 0)) det = `exactly ${numberWord(q.n)}`;
  else det = q.n === 1 && rng.chance(0.3) ? 'a single' : numberWord(q.n);
  const loc = p.loc ? [rng.pick(LOCATION_WORDS[p.loc])] : [];
  return [det, head, ...post, ...loc].join(' ');
}

function copula(plural: boolean, rng: Prng): string {
  return rng.pick(plural ? ['are', 'are', '', 'sit', 'are located'] : ['is', 'is', '', 'sits', 'lies', 'is located']);
}

export function realiseChunk(c: Chunk, rng: Prng, opts: RealiseOptions = {}): string {
  if (c.kind === 'np') return realiseNP(c.np, rng, opts);
  const subj = realiseNP(c.subj, rng, opts);
  const obj = realiseNP(c.obj, rng, opts);
  const rel = rng.pick(RELATION_WORDS[c.rel]);
  const plural = isPlural(c.subj);
  if ((c.rel === 'left' || c.rel === 'right' || c.rel === 'above' || c.rel === 'below') && rng.chance(0.2)) {
    // Fronted relation: "above a yellow star are two green triangles".
    const verb = rng.pick([plural ? 'are' : 'is', plural ? ', there are' : ', there is', plural ? 'there are' : 'there is']);
    return `${rel} ${obj} ${verb} ${subj}`;
  }
  const cop = c.rel === 'bigger' || c.rel === 'smaller' ? (plural ? 'are' : 'is') : copula(plural, rng);
  return [subj, cop, rel, obj].filter((w) => w.length > 0).join(' ');
}

/** Join phrases as an English list: "a, b and c". */
function joinList(parts: readonly string[], rng: Prng): string {
  if (parts.length <= 1) return parts[0] ?? '';
  if (parts.length === 2) return `${parts[0]} ${rng.pick(['and', 'and', 'as well as', 'along with'])} ${parts[1]}`;
  const last = rng.chance(0.5) ? ', and' : ' and';
  return `${parts.slice(0, -1).join(', ')}${last} ${parts[parts.length - 1]}`;
}

function tidy(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/ ([,:;])/g, '$1').trim();
}

/** Adjectives and a plural noun without determiner: "large red circles", "shapes". */
export function realiseBarePlural(p: Pred, rng: Prng): string {
  const words: string[] = [];
  if (p.size) words.push(rng.pick(SIZE_WORDS[p.size]));
  if (p.colour) words.push(rng.pick(COLOUR_WORDS[p.colour]));
  words.push(rng.pick(p.shape ? SHAPE_WORDS[p.shape].pl : GENERIC_NOUNS.pl));
  return words.join(' ');
}

/** Realise an NLVR2-style statement about a left and a right image. */
export function realiseStatement(s: Statement, rng: Prng): string {
  const opts: RealiseOptions = { explicitExactly: 0.4 };
  const contain = (plural: boolean): string => rng.pick(plural ? ['contain', 'have', 'show'] : ['contains', 'has', 'shows', 'includes']);
  if (s.kind === 'total') {
    const np = realiseNP(s.np, rng, opts);
    if (rng.chance(0.5)) return `${isPlural(s.np) ? 'there are' : 'there is'} ${np} in total`;
    return `the two images together ${contain(true)} ${np}`;
  }
  if (s.kind === 'compare') {
    const fromRight = rng.chance(0.5);
    const cmp = fromRight && s.cmp !== 'same' ? (s.cmp === 'more' ? 'fewer' : 'more') : s.cmp;
    const [a, b] = fromRight ? [rng.pick(IMAGE_SUBJECTS.right), rng.pick(IMAGE_SUBJECTS.left)] : [rng.pick(IMAGE_SUBJECTS.left), rng.pick(IMAGE_SUBJECTS.right)];
    const what = realiseBarePlural(s.pred, rng);
    return cmp === 'same' ? `${a} ${contain(false)} the same number of ${what} as ${b}` : `${a} ${contain(false)} ${cmp} ${what} than ${b}`;
  }
  const subject = rng.pick(IMAGE_SUBJECTS[s.quant]);
  const body = s.body.chunks;
  const first = body[0];
  if (body.length === 1 && first && first.kind === 'np') return `${subject} ${contain(subject.startsWith('both'))} ${realiseNP(first.np, rng, opts)}`;
  return `in ${subject}, ${body.map((c) => realiseChunk(c, rng, opts)).join('; ')}`;
}

// ---------------------------------------------------------------- caption generation

interface Group {
  pred: Pred;
  objs: SceneObject[];
}

function sameSet(a: readonly SceneObject[], b: readonly SceneObject[]): boolean {
  return a.length === b.length && a.every((o) => b.includes(o));
}

/** Objects grouped by the attributes the caption will mention; each group's pred matches exactly it. */
function groupObjects(scene: Scene, withSize: boolean, rng: Prng): Group[] {
  const groups: Group[] = [];
  for (const o of scene.objects) {
    const g = groups.find((x) => x.pred.colour === o.colour && x.pred.shape === o.shape && (!withSize || x.pred.size === o.size));
    if (g) g.objs.push(o);
    else groups.push({ pred: withSize ? { colour: o.colour, shape: o.shape, size: o.size } : { colour: o.colour, shape: o.shape }, objs: [o] });
  }
  for (const g of groups) {
    const first = g.objs[0] as SceneObject;
    if (!withSize && g.objs.every((o) => o.size === first.size) && rng.chance(0.3)) g.pred.size = first.size;
  }
  return rng.shuffled(groups);
}

function groupNP(g: Group, scene: Scene, rng: Prng, locChance: number): NP {
  const pred: Pred = { ...g.pred };
  const only = g.objs[0] as SceneObject;
  if (g.objs.length === 1 && rng.chance(locChance)) {
    const locs = clearLocations(only);
    if (locs.length > 0) pred.loc = rng.pick(locs);
  }
  if (!sameSet(matchSet(pred, scene.objects), g.objs)) throw new Error('groupNP: description does not single out its group');
  const quant: NP['quant'] = g.objs.length === 1 ? (rng.chance(0.85) ? { kind: 'exists' } : { kind: 'exactly', n: 1 }) : { kind: 'exactly', n: g.objs.length };
  return { quant, pred };
}

const SPATIAL: readonly Relation[] = ['left', 'right', 'above', 'below'];
const SIZE_REL: readonly Relation[] = ['bigger', 'smaller'];

/** Relations that hold clearly between every member of a and every member of b. */
function clearRelations(a: Group, b: Group): Relation[] {
  return [...SPATIAL, ...SIZE_REL].filter((r) => a.objs.every((x) => b.objs.every((y) => relationClear(r, x, y))));
}

/** Drop the size adjective when a size relation already states it and the group stays singled out. */
function withoutSize(np: NP, g: Group, scene: Scene): NP {
  const { size: _size, ...rest } = np.pred;
  return sameSet(matchSet(rest, scene.objects), g.objs) ? { ...np, pred: rest } : np;
}

function relationChunk(a: Group, b: Group, scene: Scene, rng: Prng): Chunk | undefined {
  const rels = clearRelations(a, b);
  if (rels.length === 0) return undefined;
  const rel = rng.weighted(rels, rels.map((r) => (SIZE_REL.includes(r) ? 0.5 : 1)));
  let subj = groupNP(a, scene, rng, 0.1);
  let obj = groupNP(b, scene, rng, 0.1);
  if (SIZE_REL.includes(rel) && rng.chance(0.7)) {
    subj = withoutSize(subj, a, scene);
    obj = withoutSize(obj, b, scene);
  }
  return { kind: 'rel', subj, rel, obj };
}

const LIST_PREFIXES = ['we see', 'the image shows', 'the picture shows', 'this image shows', 'an image of', 'a picture of', 'a scene with', 'the image contains'];

function buildCaption(scene: Scene, rng: Prng): { ast: CaptionAst; text: string } {
  // Few objects means little to tell images apart: always state their sizes then.
  const groups = groupObjects(scene, scene.objects.length <= 2 || rng.chance(0.7), rng);
  const single = scene.objects.length === 1;
  const opts: RealiseOptions = { postModifier: 0.15 };
  const pairs: Array<[Group, Group]> = [];
  for (const a of groups) for (const b of groups) if (a !== b && clearRelations(a, b).length > 0) pairs.push([a, b]);
  const form = rng.weighted(['list', 'count', 'relation'], [3, single ? 1.5 : 1, pairs.length > 0 ? 5 : 0]);

  if (form === 'relation') {
    const chunks: Chunk[] = [];
    const texts: string[] = [];
    let rest = groups.slice();
    for (let k = 0; k < 2; k++) {
      const avail = pairs.filter(([a, b]) => rest.includes(a) && rest.includes(b));
      if (avail.length === 0 || (k === 1 && rng.chance(0.4))) break;
      const [a, b] = rng.pick(avail);
      const c = relationChunk(a, b, scene, rng) as Chunk;
      chunks.push(c);
      texts.push(realiseChunk(c, rng, opts));
      rest = rest.filter((g) => g !== a && g !== b);
    }
    const restChunks: Chunk[] = rest.map((g) => ({ kind: 'np', np: groupNP(g, scene, rng, 0.3) }));
    const restTexts = restChunks.map((c) => realiseChunk(c, rng, opts));
    // Hard separators keep a relation's scope from swallowing the listed objects.
    const rels = texts.join(rng.pick(['; ', '. ', ', while ', ', and ']));
    let text = rels;
    if (restTexts.length > 0) {
      const restPlural = restChunks.length > 1 || isPlural((restChunks[0] as Chunk & { kind: 'np' }).np);
      const also = rng.pick(['', restPlural ? 'there are also ' : 'there is also ', 'we also see ']);
      text = rng.chance(0.7)
        ? `${rels}${rng.pick(['; ', '. '])}${also}${joinList(restTexts, rng)}`
        : `${joinList(restTexts, rng)}${rng.pick(['; ', '. ', ', while '])}${rels}`;
    }
    return { ast: { chunks: [...chunks, ...restChunks] }, text: tidy(text) };
  }

  const npChunks: Chunk[] = groups.map((g) => ({ kind: 'np', np: groupNP(g, scene, rng, single ? 0.6 : 0.25) }));
  const list = joinList(npChunks.map((c) => realiseChunk(c, rng, opts)), rng);
  if (form === 'count') {
    const total: NP = { quant: { kind: 'exactly', n: scene.objects.length }, pred: {} };
    const head = `${rng.chance(0.4) ? (single ? 'there is ' : 'there are ') : ''}${realiseNP(total, rng)}`;
    const text = rng.chance(0.75) ? `${head}${rng.pick([':', ': ', ', namely'])} ${list}` : `${list}; ${realiseNP(total, rng)} in total`;
    return { ast: { chunks: [{ kind: 'np', np: total }, ...npChunks] }, text: tidy(text) };
  }
  const first = npChunks[0] as Chunk & { kind: 'np' };
  const plural = isPlural(first.np);
  const prefix = rng.weighted(['', plural ? 'there are' : 'there is', rng.pick(LIST_PREFIXES)], [4, 2, 3]);
  return { ast: { chunks: npChunks }, text: tidy(`${prefix} ${list}`) };
}

/** Plain fallback that is always true: every group listed with full attributes. */
function basicCaption(scene: Scene): string {
  const parts = groupObjects(scene, true, Prng.fromKeys(0)).map((g) => realiseNP({ quant: g.objs.length === 1 ? { kind: 'exists' } : { kind: 'exactly', n: g.objs.length }, pred: g.pred }, Prng.fromKeys(1)));
  return parts.join(' and ');
}

/** One caption covering every object of the scene, true of it. */
export function generateCaption(scene: Scene, rng: Prng): string {
  for (let t = 0; t < 8; t++) {
    const { ast, text } = buildCaption(scene, rng);
    // Guard against realisation slips: the text must parse back to a true meaning.
    if (evalCaption(ast, scene) && checkCaption(text, scene).true) return text;
  }
  return basicCaption(scene);
}

/** `count` captions, distinct when the grammar allows. */
export function generateCaptions(scene: Scene, count: number, rng: Prng): string[] {
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    let c = generateCaption(scene, rng);
    for (let t = 0; t < 10 && out.includes(c); t++) c = generateCaption(scene, rng);
    out.push(c);
  }
  return out;
}

// ---------------------------------------------------------------- checking

export interface CaptionCheck {
  /** The caption is inside the grammar. */
  parsed: boolean;
  /** Parsed and true of the scene. */
  true: boolean;
  reason?: string;
  /** Fraction of the scene's objects that some noun phrase of the caption matches (0 when unparsed). */
  coverage: number;
}

/**
 * Fraction of the scene's objects that some noun phrase with a shape or colour matches (counting
 * phrases such as "three shapes" describe no particular object).
 */
export function captionCoverage(ast: CaptionAst, scene: Scene): number {
  if (scene.objects.length === 0) return 1;
  const nps = captionNPs(ast).filter((np) => np.pred.shape !== undefined || np.pred.colour !== undefined);
  return scene.objects.filter((o) => nps.some((np) => matchSet(np.pred, [o]).length > 0)).length / scene.objects.length;
}

/** Parse `caption` with the grammar and judge it against the scene. */
export function checkCaption(caption: string, scene: Scene): CaptionCheck {
  let ast: CaptionAst;
  try {
    ast = parseCaption(caption);
  } catch (e) {
    if (e instanceof ParseError) return { parsed: false, true: false, reason: e.message, coverage: 0 };
    throw e;
  }
  const coverage = captionCoverage(ast, scene);
  const bad = ast.chunks.findIndex((c) => !evalChunk(c, scene));
  if (bad >= 0) return { parsed: true, true: false, reason: `part ${bad + 1} of the caption is false`, coverage };
  return { parsed: true, true: true, coverage };
}
