/**
 * Downstream tasks derived from scene graphs: VQA (VQAv2-style soft scores), NLVR2-style
 * statements about two images, image-text retrieval sets, and caption evaluation.
 */
import { captionCoverage, checkCaption, realiseBarePlural, realiseStatement } from './grammar.js';
import { COLOUR_WORDS, LOCATION_WORDS, RELATION_WORDS, SHAPE_WORDS, SIZE_WORDS, IMAGE_QUANTS } from './lexicon.js';
import { parseCaption } from './parse.js';
import { objectRecall } from './object-recall.js';
import type { Prng } from '../rng.js';
import {
  clearLocations, COLOURS, INVERSE_RELATION, relationClear, relationHolds, SHAPES, SIZES,
  type Relation, type Scene, type SceneObject,
} from './scene.js';
import { evalCaption, evalStatement, matchSet, type CaptionAst, type NP, type Pred, type Quant, type Statement } from './semantics.js';

// ---------------------------------------------------------------- VQA

/** The fixed answer vocabulary (class index = position). */
export const VQA_ANSWERS: readonly string[] = ['yes', 'no', '0', '1', '2', '3', '4', ...COLOURS, ...SHAPES, ...SIZES];

export type VqaKind = 'colour' | 'shape' | 'size' | 'count' | 'exist' | 'relation';

/** VQAv2's answer type of a question kind. */
export function vqaAnswerType(kind: VqaKind): 'yes/no' | 'number' | 'other' {
  return kind === 'exist' || kind === 'relation' ? 'yes/no' : kind === 'count' ? 'number' : 'other';
}

/** What a question asks, in a form that can be re-evaluated against the scene. */
export type VqaProgram =
  /** Attribute of the single object matching `target`. */
  | { kind: 'colour' | 'shape' | 'size'; target: Pred }
  | { kind: 'count'; filter: Pred }
  | { kind: 'exist'; filter: Pred }
  /** Whether the object matching `a` is <rel> the object matching `b`. */
  | { kind: 'relation'; a: Pred; rel: Relation; b: Pred };

export interface VqaAnswer {
  answer: string;
  /** VQAv2 `answer_confidence`. */
  confidence: 'yes' | 'maybe' | 'no';
}

export interface VqaQuestion {
  question: string;
  kind: VqaKind;
  program: VqaProgram;
  /** Ground truth; also the most frequent annotator answer (`multiple_choice_answer`). */
  answer: string;
  /** Ten simulated annotators. */
  annotators: VqaAnswer[];
  /** Soft targets: 1 annotator -> 0.3, 2 -> 0.6, 3 -> 0.9, 4 or more -> 1.0. */
  scores: Array<{ answer: string; score: number }>;
}

/** VQAv2 soft score for the number of annotators who gave an answer. */
export function vqaScore(count: number): number {
  return count <= 0 ? 0 : count === 1 ? 0.3 : count === 2 ? 0.6 : count === 3 ? 0.9 : 1.0;
}

/** Soft scores from annotator answers, most frequent first; answers outside the vocabulary are dropped. */
export function vqaSoftScores(answers: readonly string[]): Array<{ answer: string; score: number }> {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  return [...counts.entries()]
    .filter(([a]) => VQA_ANSWERS.includes(a))
    .sort((x, y) => y[1] - x[1] || VQA_ANSWERS.indexOf(x[0]) - VQA_ANSWERS.indexOf(y[0]))
    .map(([answer, c]) => ({ answer, score: vqaScore(c) }));
}

/** Evaluate a question program. Throws when a referent is not unique. */
export function answerVqa(p: VqaProgram, scene: Scene): string {
  const one = (pred: Pred): SceneObject => {
    const m = matchSet(pred, scene.objects);
    if (m.length !== 1) throw new Error(`answerVqa: referent matches ${m.length} objects`);
    return m[0] as SceneObject;
  };
  switch (p.kind) {
    case 'colour': return one(p.target).colour;
    case 'shape': return one(p.target).shape;
    case 'size': return one(p.target).size;
    case 'count': return String(matchSet(p.filter, scene.objects).length);
    case 'exist': return matchSet(p.filter, scene.objects).length > 0 ? 'yes' : 'no';
    case 'relation': return relationHolds(p.rel, one(p.a), one(p.b)) ? 'yes' : 'no';
  }
}

function unique(pred: Pred, o: SceneObject, scene: Scene): boolean {
  const m = matchSet(pred, scene.objects);
  return m.length === 1 && m[0] === o;
}

/** Shortest description of `o` that leaves out `omit` and singles it out, if any. */
function referent(o: SceneObject, scene: Scene, omit: 'colour' | 'shape' | 'size' | 'none'): Pred | undefined {
  const base: Pred[] =
    omit === 'colour' ? [{ shape: o.shape }, { size: o.size, shape: o.shape }]
    : omit === 'shape' ? [{ colour: o.colour }, { size: o.size, colour: o.colour }]
    : omit === 'size' ? [{ colour: o.colour, shape: o.shape }]
    : [{ shape: o.shape }, { colour: o.colour, shape: o.shape }, { size: o.size, colour: o.colour, shape: o.shape }];
  for (const p of base) if (unique(p, o, scene)) return p;
  const widest = base[base.length - 1] as Pred;
  for (const loc of clearLocations(o)) if (unique({ ...widest, loc }, o, scene)) return { ...widest, loc };
  return undefined;
}

function theNoun(p: Pred, rng: Prng): string {
  const words = ['the'];
  if (p.size) words.push(rng.pick(SIZE_WORDS[p.size]));
  if (p.colour) words.push(rng.pick(COLOUR_WORDS[p.colour]));
  words.push(p.shape ? rng.pick(SHAPE_WORDS[p.shape].sg) : rng.pick(['object', 'shape', 'thing']));
  if (p.loc) words.push(rng.pick(LOCATION_WORDS[p.loc]));
  return words.join(' ');
}

function aNoun(p: Pred, rng: Prng): string {
  const words: string[] = [];
  if (p.size) words.push(rng.pick(SIZE_WORDS[p.size]));
  if (p.colour) words.push(rng.pick(COLOUR_WORDS[p.colour]));
  words.push(p.shape ? rng.pick(SHAPE_WORDS[p.shape].sg) : rng.pick(['object', 'shape']));
  return `${/^[aeiou]/.test(words[0] as string) ? 'an' : 'a'} ${words.join(' ')}`;
}

/** Random attribute filter, drawn from an existing object with probability `fromScene`. */
function randomFilter(scene: Scene, rng: Prng, fromScene: number, allowEmpty: boolean): Pred {
  const src: Pick<SceneObject, 'colour' | 'shape' | 'size'> = rng.chance(fromScene)
    ? rng.pick(scene.objects)
    : { colour: rng.pick(COLOURS), shape: rng.pick(SHAPES), size: rng.pick(SIZES) };
  const kinds: Pred[] = [{ shape: src.shape }, { colour: src.colour }, { colour: src.colour, shape: src.shape }, { size: src.size, shape: src.shape }, { size: src.size, colour: src.colour, shape: src.shape }];
  if (allowEmpty) kinds.push({});
  return rng.pick(kinds);
}

function buildQuestion(kind: VqaKind, scene: Scene, rng: Prng): { question: string; program: VqaProgram } | undefined {
  switch (kind) {
    case 'colour':
    case 'shape':
    case 'size': {
      const o = rng.pick(scene.objects);
      const target = referent(o, scene, kind);
      if (!target) return undefined;
      const x = theNoun(target, rng);
      const templates = kind === 'colour'
        ? [`what color is ${x}?`, `what colour is ${x}?`, `which color is ${x}?`, `what is the color of ${x}?`]
        : kind === 'shape'
          ? [`what shape is ${x}?`, `what is the shape of ${x}?`, `which shape is ${x}?`, `what kind of shape is ${x}?`]
          : [`what size is ${x}?`, `is ${x} small or large?`, `is ${x} large or small?`, `how big is ${x}?`];
      return { question: rng.pick(templates), program: { kind, target } };
    }
    case 'count': {
      const filter = randomFilter(scene, rng, 0.75, true);
      const x = realiseBarePlural(filter, rng);
      return { question: rng.pick([`how many ${x} are there?`, `how many ${x} are in the image?`, `what is the number of ${x}?`, `how many ${x} can you see?`]), program: { kind, filter } };
    }
    case 'exist': {
      const wantYes = rng.chance(0.5);
      let filter = randomFilter(scene, rng, wantYes ? 1 : 0, false);
      for (let t = 0; t < 20 && (matchSet(filter, scene.objects).length > 0) !== wantYes; t++) filter = randomFilter(scene, rng, wantYes ? 1 : 0, false);
      const templates = [`is there ${aNoun(filter, rng)}?`, `are there any ${realiseBarePlural(filter, rng)}?`, `does the image contain ${aNoun(filter, rng)}?`, `is there any ${aNoun(filter, rng).replace(/^an? /, '')}?`];
      return { question: rng.pick(templates), program: { kind, filter } };
    }
    case 'relation': {
      if (scene.objects.length < 2) return undefined;
      const [oa, ob] = rng.shuffled(scene.objects) as [SceneObject, SceneObject];
      const a = referent(oa, scene, 'none');
      const b = referent(ob, scene, 'none');
      const rels = (['left', 'right', 'above', 'below', 'bigger', 'smaller'] as const).filter((r) => relationClear(r, oa, ob));
      if (!a || !b || rels.length === 0) return undefined;
      const clear = rng.pick(rels);
      const rel = rng.chance(0.5) ? clear : INVERSE_RELATION[clear];
      const word = rng.pick(RELATION_WORDS[rel].filter((w) => !w.startsWith('on the')));
      return { question: `is ${theNoun(a, rng)} ${word} ${theNoun(b, rng)}?`, program: { kind, a, rel, b } };
    }
  }
}

/** Plausible wrong answers a careless annotator might give. */
function confusion(answer: string, kind: VqaKind, rng: Prng): string {
  switch (kind) {
    case 'exist':
    case 'relation': return answer === 'yes' ? 'no' : 'yes';
    case 'count': {
      const n = Number(answer);
      return String(n === 0 ? 1 : n === 4 ? 3 : n + rng.pick([-1, 1]));
    }
    case 'colour': return rng.pick(COLOURS.filter((c) => c !== answer));
    case 'shape': return rng.pick(SHAPES.filter((s) => s !== answer));
    case 'size': return answer === 'small' ? 'large' : 'small';
  }
}

const VQA_KINDS: readonly VqaKind[] = ['colour', 'shape', 'size', 'count', 'exist', 'relation'];
const VQA_KIND_WEIGHTS: readonly number[] = [1, 1, 0.6, 1.2, 1, 1.2];

/** `count` distinct questions about one scene, with simulated annotators. */
export function makeVqaQuestions(scene: Scene, count: number, rng: Prng): VqaQuestion[] {
  const out: VqaQuestion[] = [];
  for (let t = 0; out.length < count && t < count * 20; t++) {
    const kind = rng.weighted(VQA_KINDS, VQA_KIND_WEIGHTS);
    const q = buildQuestion(kind, scene, rng);
    if (!q || out.some((o) => o.question === q.question)) continue;
    const answer = answerVqa(q.program, scene);
    const nRight = rng.weighted([10, 9, 8, 7], [0.6, 0.25, 0.1, 0.05]);
    const annotators: VqaAnswer[] = [];
    for (let k = 0; k < 10; k++) {
      annotators.push(k < nRight ? { answer, confidence: rng.chance(0.9) ? 'yes' : 'maybe' } : { answer: confusion(answer, kind, rng), confidence: rng.pick(['maybe', 'no'] as const) });
    }
    const shuffled = rng.shuffled(annotators);
    out.push({ ...q, kind, answer, annotators: shuffled, scores: vqaSoftScores(shuffled.map((a) => a.answer)) });
  }
  return out;
}

// ---------------------------------------------------------------- NLVR2

export interface Nlvr2Statement {
  sentence: string;
  label: boolean;
  statement: Statement;
}


/** Every pair the relation could be about is clearly on one side or the other. */
function relationVisible(rel: Relation, a: Pred, b: Pred, scene: Scene): boolean {
  if (rel === 'bigger' || rel === 'smaller') return true; // two discrete sizes: always visible
  for (const x of matchSet(a, scene.objects)) {
    for (const y of matchSet(b, scene.objects)) {
      if (x !== y && !relationClear(rel, x, y) && !relationClear(INVERSE_RELATION[rel], x, y)) return false;
    }
  }
  return true;
}

function randomQuant(rng: Prng, n: number): Quant {
  return rng.weighted<Quant>([{ kind: 'exists' }, { kind: 'exactly', n }, { kind: 'atLeast', n: Math.max(1, n) }, { kind: 'exactly', n: 0 }], [3, 3, 1, 1]);
}

function randomStatement(left: Scene, right: Scene, rng: Prng): Statement {
  const both = left.objects.concat(right.objects);
  const form = rng.weighted(['np', 'rel', 'compare', 'total'], [4, 2, 1.5, 1]);
  const scene = rng.pick([left, right]);
  if (form === 'rel' && scene.objects.length >= 2) {
    const [x, y] = rng.shuffled(scene.objects) as [SceneObject, SceneObject];
    const a: Pred = rng.chance(0.8) ? { colour: x.colour, shape: x.shape } : { shape: x.shape };
    const b: Pred = rng.chance(0.8) ? { colour: y.colour, shape: y.shape } : { colour: y.colour };
    const rel = rng.pick<Relation>(['left', 'right', 'above', 'below', 'bigger', 'smaller']);
    const body: CaptionAst = { chunks: [{ kind: 'rel', subj: { quant: { kind: 'exists' }, pred: a }, rel, obj: { quant: { kind: 'exists' }, pred: b } }] };
    return { kind: 'each', quant: rng.pick(IMAGE_QUANTS), body };
  }
  const pred = randomFilter({ objects: both }, rng, 0.8, form === 'compare' || form === 'total');
  if (form === 'compare') return { kind: 'compare', cmp: rng.weighted(['more', 'fewer', 'same'] as const, [2, 2, 1]), pred };
  const n = matchSet(pred, (form === 'total' ? both : scene.objects)).length + rng.pick([0, 0, -1, 1]);
  if (form === 'total') {
    const quant: Quant = rng.chance(0.75) ? { kind: 'exactly', n: Math.max(1, n) } : { kind: 'atLeast', n: Math.max(1, n) };
    return { kind: 'total', np: { quant, pred } };
  }
  const np: NP = { quant: randomQuant(rng, Math.max(0, n)), pred };
  return { kind: 'each', quant: rng.pick(IMAGE_QUANTS), body: { chunks: [{ kind: 'np', np }] } };
}

function visible(s: Statement, left: Scene, right: Scene): boolean {
  if (s.kind !== 'each') return true;
  return s.body.chunks.every((c) => c.kind === 'np' || (relationVisible(c.rel, c.subj.pred, c.obj.pred, left) && relationVisible(c.rel, c.subj.pred, c.obj.pred, right)));
}

/** Scene pairs redrawn per attempt before a statement about an NLVR2 pair is given up. */
const NLVR2_REDRAWS = 500;

/**
 * An NLVR2 pair (two scenes and a statement) whose truth is `label`, built so that the statement alone
 * says nothing about the label, as NLVR2 was: each statement is drawn from a first pair of scenes without
 * looking at the label, then that pair and the next ones (`scenes(k)`, k = 0, 1, 2, ...) are tried until
 * the statement has that truth. Picking instead, for fixed scenes, a statement that happens to have the wanted truth lets
 * the kind of statement give the label away: "in both images ..." is mostly false and "at least one image
 * ..." mostly true, and a classifier of the statement's form alone scored 0.70 on such pairs.
 * A statement whose truth is not reached in NLVR2_REDRAWS redraws is replaced by a new one.
 * `allow` keeps only some kinds of statement (drawn again until one is allowed); it looks at the statement
 * only, never at the label, so each kind's labels stay about as balanced as without it (a statement that
 * cannot reach its label is replaced, which happens more for one label on kinds that are rarely true).
 */
export function makeNlvr2Pair(
  scenes: (attempt: number) => readonly [Scene, Scene], label: boolean, rng: Prng, allow?: (s: Statement) => boolean,
): Nlvr2Statement & { left: Scene; right: Scene } {
  let attempt = 0;
  // scene pairs on which no allowed statement was drawn do not count as rounds (with no restriction there are none)
  for (let round = 0, pairs = 0; round < 20 && pairs < 200; pairs++) {
    const [l0, r0] = scenes(attempt);
    const statement = drawAllowed(l0, r0, rng, allow);
    if (statement === null) {
      attempt++;
      continue;
    }
    round++;
    for (let t = 0; t < NLVR2_REDRAWS; t++) {
      const [left, right] = t === 0 ? [l0, r0] : scenes(attempt);
      attempt++;
      if (evalStatement(statement, left, right) === label && visible(statement, left, right)) {
        return { sentence: realiseStatement(statement, rng), label, statement, left, right };
      }
    }
  }
  // Always satisfiable: the number of objects in the left image.
  const [left, right] = scenes(attempt);
  const n = left.objects.length;
  const statement: Statement = { kind: 'each', quant: 'left', body: { chunks: [{ kind: 'np', np: { quant: { kind: 'exactly', n: label ? n : (n % 4) + 1 }, pred: {} } }] } };
  if (allow && !allow(statement)) throw new Error('makeNlvr2Pair: no statement of the allowed kinds could be made true and false of these scenes');
  return { sentence: realiseStatement(statement, rng), label, statement, left, right };
}

/** Draws of a statement for one scene pair before the pair is given up for one of the allowed kinds. */
const KIND_DRAWS = 200;

function drawAllowed(left: Scene, right: Scene, rng: Prng, allow?: (s: Statement) => boolean): Statement | null {
  if (!allow) return randomStatement(left, right, rng);
  for (let k = 0; k < KIND_DRAWS; k++) {
    const s = randomStatement(left, right, rng);
    if (allow(s)) return s;
  }
  return null;
}

// ---------------------------------------------------------------- retrieval

export interface RetrievalSet {
  texts: string[];
  /** Image index (into the caller's image list) each text was written for. */
  textToImage: number[];
  imageToTexts: number[][];
}

/** Flatten per-image captions into the Karpathy-style text list (all captions of image 0 first). */
export function buildRetrievalSet(captions: readonly (readonly string[])[]): RetrievalSet {
  const texts: string[] = [];
  const textToImage: number[] = [];
  const imageToTexts = captions.map((caps, i) =>
    caps.map((c) => {
      texts.push(c);
      textToImage.push(i);
      return texts.length - 1;
    }),
  );
  return { texts, textToImage, imageToTexts };
}

/**
 * For each text, every image it fits (parsed once, then evaluated per scene): the caption is true
 * of the image and mentions all of its objects, the closed-world reading of a full description.
 * Captions of simple scenes can fit several images; this is the graded retrieval ground truth.
 */
export function relevantImages(texts: readonly string[], scenes: readonly Scene[]): number[][] {
  return texts.map((t) => {
    let ast: CaptionAst;
    try {
      ast = parseCaption(t);
    } catch {
      return [];
    }
    const out: number[] = [];
    scenes.forEach((s, i) => {
      if (evalCaption(ast, s) && captionCoverage(ast, s) === 1) out.push(i);
    });
    return out;
  });
}

// ---------------------------------------------------------------- captioning

export interface SemanticAccuracy {
  /** Fraction of captions inside the grammar. */
  parsed: number;
  /** Fraction of captions that parse and are true of their scene. */
  accuracy: number;
  /** Mean fraction of scene objects mentioned, over true captions (0 when none). */
  coverage: number;
  /** Mean object recall over all captions (object-recall.ts). */
  objectRecall: number;
}

/** Semantic accuracy of generated captions: a complement to BLEU/CIDEr. */
export function semanticAccuracy(preds: ReadonlyArray<{ caption: string; scene: Scene }>): SemanticAccuracy {
  let parsed = 0;
  let correct = 0;
  let coverage = 0;
  let recall = 0;
  for (const p of preds) {
    recall += objectRecall(p.caption, p.scene);
    const r = checkCaption(p.caption, p.scene);
    if (r.parsed) parsed++;
    if (r.true) {
      correct++;
      coverage += r.coverage;
    }
  }
  const n = Math.max(1, preds.length);
  return { parsed: parsed / n, accuracy: correct / n, coverage: correct > 0 ? coverage / correct : 0, objectRecall: recall / n };
}

