import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  BACKGROUND_RGB, checkCaption, COLOUR_RGB, COLOURS, DEFAULT_HELD_OUT, evalStatement, statementType, generateCaptions, isHeldOut,
  objectRecall, parseCaption, parseStatement, renderScene, semanticAccuracy, SHAPES, ShapesWorld, SHAPES_SPLITS, splitSizes,
  VQA_ANSWERS, vqaScore, writeShapesDataset,
  type Scene, type SceneObject, type Statement, type VqaProgram,
} from '../src/data/shapes/index.js';
import { Prng } from '../src/data/rng.js';
import { ShapesSource } from '../src/data/formats/shapes.js';
import { openDataset } from '../src/data/index.js';

const obj = (shape: SceneObject['shape'], colour: SceneObject['colour'], size: SceneObject['size'], x: number, y: number): SceneObject =>
  ({ shape, colour, size, x, y, r: size === 'large' ? 0.22 : 0.13 });

// ------------------------------------------------------------------ determinism

test('rng: same keys give the same stream, different keys differ', () => {
  const a = Prng.fromKeys(1, 'x');
  const b = Prng.fromKeys(1, 'x');
  const c = Prng.fromKeys(2, 'x');
  const sa = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(sa, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.nextU32()));
  const r = Prng.fromKeys(3);
  for (let i = 0; i < 1000; i++) {
    const k = r.intBetween(2, 5);
    assert.ok(k >= 2 && k <= 5 && Number.isInteger(k));
  }
  assert.deepEqual(Prng.fromKeys(4).shuffled([1, 2, 3, 4, 5]).sort(), [1, 2, 3, 4, 5]);
});

test('dataset: same seed gives the same bytes, another seed differs', () => {
  const a = new ShapesWorld({ seed: 11, n: 6 });
  const b = new ShapesWorld({ seed: 11, n: 6 });
  const c = new ShapesWorld({ seed: 12, n: 6 });
  for (let i = 0; i < 6; i++) {
    const ia = a.item(i);
    const ib = b.item(i);
    assert.deepEqual(ia.scene, ib.scene);
    assert.deepEqual(ia.captions, ib.captions);
    assert.ok(Buffer.from(ia.image).equals(Buffer.from(ib.image)));
    assert.equal(ia.image.length, 64 * 64 * 3);
  }
  const differ = [0, 1, 2, 3, 4, 5].filter((i) => !Buffer.from(a.image(i)).equals(Buffer.from(c.image(i))));
  assert.ok(differ.length >= 5, `only ${differ.length} images differ across seeds`);
  // Items do not depend on n, and the splits are different streams.
  assert.deepEqual(new ShapesWorld({ seed: 11, n: 100 }).scene(3), a.scene(3));
  assert.notDeepEqual(new ShapesWorld({ seed: 11, n: 6, split: 'val' }).scene(0), a.scene(0));
  assert.equal([...a].length, 6);
  assert.throws(() => a.scene(6), RangeError);
});

// ------------------------------------------------------------------ scenes and rendering

test('scenes: 1-4 objects inside the image, no overlaps, relations have room', () => {
  const w = new ShapesWorld({ seed: 5, n: 300 });
  const counts = new Set<number>();
  for (let i = 0; i < w.length; i++) {
    const s = w.scene(i);
    counts.add(s.objects.length);
    for (const o of s.objects) {
      assert.ok(o.x - o.r >= 0 && o.x + o.r <= 1 && o.y - o.r >= 0 && o.y + o.r <= 1);
      assert.ok(COLOURS.includes(o.colour) && SHAPES.includes(o.shape));
    }
    for (const p of s.objects) for (const q of s.objects) if (p !== q) assert.ok(Math.hypot(p.x - q.x, p.y - q.y) >= p.r + q.r);
  }
  assert.deepEqual([...counts].sort(), [1, 2, 3, 4]);
});

test('scenes: objects=K caps the objects per scene; the default scenes are unchanged', async () => {
  const all = new ShapesWorld({ seed: 5, n: 200 });
  const four = new ShapesWorld({ seed: 5, n: 200, maxObjects: 4 });
  for (let i = 0; i < 200; i++) assert.deepEqual(four.scene(i), all.scene(i));
  for (const k of [1, 2]) {
    const w = new ShapesWorld({ seed: 5, n: 200, maxObjects: k });
    const counts = new Set(Array.from({ length: 200 }, (_, i) => w.scene(i).objects.length));
    assert.deepEqual([...counts].sort(), Array.from({ length: k }, (_, j) => j + 1));
    for (let i = 0; i < 20; i++) for (const c of w.captions(i)) assert.equal(checkCaption(c, w.scene(i)).true, true, c);
  }
  for (const bad of [0, 5, 1.5]) assert.throws(() => new ShapesWorld({ seed: 5, n: 2, maxObjects: bad }), /maxObjects \(objects=\) must be an integer in 1\.\.4/);
  // through the dataset spec
  const { openDataset } = await import('../src/data/spec.js');
  const src = await openDataset('shapes:train?n=30&seed=2&objects=1');
  assert.ok(src instanceof ShapesSource && src.length === 30);
  for (let i = 0; i < 30; i++) assert.equal(src.world.scene(i).objects.length, 1);
  await assert.rejects(openDataset('shapes:train?n=30&seed=2&objects=9'), /maxObjects \(objects=\) must be an integer in 1\.\.4, got 9/);
});

test('render: object centres have the object colour, the corners the background', () => {
  const w = new ShapesWorld({ seed: 8, n: 60 });
  for (const size of [64, 32]) {
    for (let i = 0; i < w.length; i++) {
      const scene = w.scene(i);
      const img = w.image(i, size, scene);
      assert.equal(img.length, size * size * 3);
      for (const o of scene.objects) {
        const p = (Math.floor(o.y * size) * size + Math.floor(o.x * size)) * 3;
        assert.deepEqual([img[p], img[p + 1], img[p + 2]], [...COLOUR_RGB[o.colour]], `${o.colour} ${o.shape} at ${size}px`);
      }
      assert.deepEqual([img[0], img[1], img[2]], [...BACKGROUND_RGB]);
    }
  }
  // Large objects cover clearly more pixels than small ones.
  const count = (s: Scene): number => {
    const img = renderScene(s, 64);
    let n = 0;
    for (let p = 0; p < img.length; p += 3) if (img[p] !== BACKGROUND_RGB[0] || img[p + 2] !== BACKGROUND_RGB[2]) n++;
    return n;
  };
  for (const shape of SHAPES) {
    const small = count({ objects: [obj(shape, 'red', 'small', 0.5, 0.5)] });
    const large = count({ objects: [obj(shape, 'red', 'large', 0.5, 0.5)] });
    assert.ok(large > 2.2 * small && small > 40, `${shape}: small ${small} px, large ${large} px`);
  }
});

// ------------------------------------------------------------------ captions

test('captions: every caption of 500 scenes parses and is true of its scene', () => {
  const w = new ShapesWorld({ seed: 21, n: 500 });
  const templates = new Set<string>();
  let relational = 0;
  let total = 0;
  for (let i = 0; i < w.length; i++) {
    const scene = w.scene(i);
    const caps = w.captions(i, scene);
    assert.equal(caps.length, 5);
    for (const c of caps) {
      const r = checkCaption(c, scene);
      assert.ok(r.parsed, `"${c}" did not parse: ${r.reason}`);
      assert.ok(r.true, `"${c}" is false of its scene: ${r.reason}`);
      assert.equal(r.coverage, 1, `"${c}" does not mention every object`);
      total++;
      if (/\b(left|right) of\b|above|below|over|under|beneath|than/.test(c)) relational++;
      templates.add(c.replace(/\b(red|orange|yellow|green|cyan|turquoise|blue|purple|violet)\b/g, 'C').replace(/\b(one|two|three|four)\b/g, 'N'));
    }
    assert.ok(new Set(caps).size >= 3, `captions of scene ${i} are nearly all the same: ${caps.join(' | ')}`);
  }
  assert.ok(relational / total > 0.3, `only ${relational}/${total} captions state a relation`);
  assert.ok(templates.size > 1000, `only ${templates.size} caption templates`);
});

test('captions: hand-written sentences are judged correctly', () => {
  const scene: Scene = { objects: [obj('circle', 'red', 'large', 0.25, 0.3), obj('square', 'blue', 'small', 0.75, 0.3), obj('triangle', 'green', 'small', 0.3, 0.8), obj('triangle', 'green', 'small', 0.7, 0.8)] };
  const yes = [
    'a large red circle to the left of a small blue square',
    'A big red disc is left of a tiny blue square.',
    'two green triangles below a red circle',
    'there are four shapes: a red circle, a blue square and two green triangles',
    'to the right of a red circle is a blue square',
    'a circle that is red and large is bigger than a blue square',
    'a blue square on the right',
    'a red circle in the top left corner. two small green triangles at the bottom',
  ];
  const no = [
    'a large red circle to the right of a small blue square',
    'a small red circle',
    'three green triangles',
    'a yellow star',
    'two green triangles above a red circle',
    'a blue square is bigger than a red circle',
    'a blue square on the left',
    'there are three shapes',
  ];
  for (const c of yes) {
    const r = checkCaption(c, scene);
    assert.ok(r.parsed && r.true, `"${c}" should be true: ${JSON.stringify(r)}`);
  }
  for (const c of no) {
    const r = checkCaption(c, scene);
    assert.ok(r.parsed && !r.true, `"${c}" should parse and be false: ${JSON.stringify(r)}`);
  }
  for (const c of ['', 'purple monkey dishwasher', 'a red', 'a red circle left of', 'a red blue circle']) assert.equal(checkCaption(c, scene).parsed, false, c);
  assert.equal(checkCaption('a red circle', scene).coverage, 0.25);
});

const COLOUR_RE = /\b(red|orange|yellow|green|cyan|turquoise|blue|purple|violet)\b/;
const SHAPE_RE = /\b(circles?|discs?|disks?|squares?|triangles?|stars?|crosses|cross|plus signs?|diamonds?|rhombus(?:es)?)\b/;
const REL_SWAP: Array<[RegExp, string]> = [
  [/\bleft of\b/, 'right of'], [/\bright of\b/, 'left of'], [/\babove\b/, 'below'], [/\bover\b/, 'under'],
  [/\bbelow\b/, 'above'], [/\bunder\b/, 'over'], [/\bbeneath\b/, 'above'], [/\bhigher than\b/, 'lower than'],
  [/\blower than\b/, 'higher than'], [/\b(bigger|larger) than\b/, 'smaller than'], [/\b(smaller|tinier) than\b/, 'bigger than'],
];

test('captions: swapping a colour, shape or relation makes them false', () => {
  const w = new ShapesWorld({ seed: 22, n: 150 });
  const counts = { colour: 0, shape: 0, relation: 0 };
  for (let i = 0; i < w.length; i++) {
    const scene = w.scene(i);
    const absentColour = COLOURS.find((c) => !scene.objects.some((o) => o.colour === c)) as string;
    const absentShape = SHAPES.find((s) => !scene.objects.some((o) => o.shape === s)) as string;
    for (const c of w.captions(i, scene)) {
      const m = c.match(SHAPE_RE);
      const shapeWord = m && m[0].endsWith('s') && m[0] !== 'cross' && m[0] !== 'rhombus' ? (absentShape === 'cross' ? 'crosses' : `${absentShape}s`) : absentShape;
      const mutants: Array<[keyof typeof counts, string]> = [
        ['colour', c.replace(COLOUR_RE, absentColour)],
        ['shape', c.replace(SHAPE_RE, shapeWord)],
      ];
      const rel = REL_SWAP.map(([re, to]) => ({ re, to, at: c.search(re) })).filter((x) => x.at >= 0).sort((a, b) => a.at - b.at)[0];
      if (rel) mutants.push(['relation', c.replace(rel.re, rel.to)]);
      for (const [kind, mutant] of mutants) {
        assert.notEqual(mutant, c);
        const r = checkCaption(mutant, scene);
        assert.ok(r.parsed, `mutant "${mutant}" should parse: ${r.reason}`);
        assert.equal(r.true, false, `${kind} mutant "${mutant}" of "${c}" should be false`);
        counts[kind]++;
      }
    }
  }
  assert.ok(counts.relation > 100, `only ${counts.relation} relation mutants`);
});

// ------------------------------------------------------------------ compositional split

test('splits: held-out combinations never in train/val/test, always in test_compositional', () => {
  const has = (s: Scene): boolean => s.objects.some((o) => isHeldOut(o, DEFAULT_HELD_OUT));
  for (const split of ['train', 'val', 'test'] as const) {
    const w = new ShapesWorld({ seed: 3, n: 400, split, nlvr2Pairs: 50 });
    for (let i = 0; i < w.length; i++) assert.ok(!has(w.scene(i)), `${split} ${i} has a held-out combination`);
    for (const ex of w.nlvr2Examples()) assert.ok(!has(ex.left) && !has(ex.right));
  }
  const comp = new ShapesWorld({ seed: 3, n: 200, split: 'test_compositional' });
  const seen = new Set<string>();
  for (let i = 0; i < comp.length; i++) {
    const s = comp.scene(i);
    assert.ok(has(s), `test_compositional ${i} lacks a held-out combination`);
    for (const o of s.objects) if (isHeldOut(o, DEFAULT_HELD_OUT)) seen.add(`${o.colour} ${o.shape}`);
  }
  assert.equal(seen.size, DEFAULT_HELD_OUT.length);
  // Custom held-out lists are honoured too.
  const custom = new ShapesWorld({ seed: 3, n: 100, heldOut: [['red', 'circle']] });
  for (let i = 0; i < custom.length; i++) assert.ok(!custom.scene(i).objects.some((o) => o.colour === 'red' && o.shape === 'circle'));
});

// ------------------------------------------------------------------ VQA

/** Independent re-implementation of the VQA programs. */
function expectedAnswer(p: VqaProgram, s: Scene): string {
  const fits = (f: { shape?: string; colour?: string; size?: string; loc?: string }, o: SceneObject): boolean =>
    (!f.shape || f.shape === o.shape) && (!f.colour || f.colour === o.colour) && (!f.size || f.size === o.size) &&
    (!f.loc || f.loc.split(' ').every((w) => (w === 'left' ? o.x < 0.5 : w === 'right' ? o.x > 0.5 : w === 'top' ? o.y < 0.5 : w === 'bottom' ? o.y > 0.5 : Math.abs(o.x - 0.5) < 0.2 && Math.abs(o.y - 0.5) < 0.2)));
  const the = (f: Parameters<typeof fits>[0]): SceneObject => {
    const m = s.objects.filter((o) => fits(f, o));
    assert.equal(m.length, 1, 'a referent must single out one object');
    return m[0] as SceneObject;
  };
  switch (p.kind) {
    case 'colour': return the(p.target).colour;
    case 'shape': return the(p.target).shape;
    case 'size': return the(p.target).size;
    case 'count': return String(s.objects.filter((o) => fits(p.filter, o)).length);
    case 'exist': return s.objects.some((o) => fits(p.filter, o)) ? 'yes' : 'no';
    case 'relation': {
      const a = the(p.a);
      const b = the(p.b);
      const holds = { left: a.x < b.x, right: a.x > b.x, above: a.y < b.y, below: a.y > b.y, bigger: a.r > b.r, smaller: a.r < b.r }[p.rel];
      return holds ? 'yes' : 'no';
    }
  }
}

test('vqa: answers are in the vocabulary, correct, with VQAv2 soft scores', () => {
  assert.deepEqual([1, 2, 3, 4, 7].map(vqaScore), [0.3, 0.6, 0.9, 1, 1]);
  const w = new ShapesWorld({ seed: 31, n: 300, questionsPerImage: 4 });
  const kinds = new Map<string, number>();
  let yes = 0;
  let yesNo = 0;
  for (let i = 0; i < w.length; i++) {
    const scene = w.scene(i);
    const qs = w.vqa(i, scene);
    assert.equal(qs.length, 4);
    assert.equal(new Set(qs.map((q) => q.question)).size, 4);
    for (const q of qs) {
      kinds.set(q.kind, (kinds.get(q.kind) ?? 0) + 1);
      assert.ok(VQA_ANSWERS.includes(q.answer), q.answer);
      assert.equal(q.answer, expectedAnswer(q.program, scene), q.question);
      assert.ok(q.question.endsWith('?'));
      assert.equal(q.annotators.length, 10);
      const counts = new Map<string, number>();
      for (const a of q.annotators) counts.set(a.answer, (counts.get(a.answer) ?? 0) + 1);
      assert.ok((counts.get(q.answer) ?? 0) >= 6, 'the ground truth is the majority answer');
      for (const { answer, score } of q.scores) {
        assert.ok(VQA_ANSWERS.includes(answer));
        assert.equal(score, [0, 0.3, 0.6, 0.9, 1][Math.min(4, counts.get(answer) ?? 0)]);
      }
      assert.equal(q.scores[0]?.answer, q.answer);
      assert.equal(q.scores[0]?.score, 1);
      if (q.answer === 'yes' || q.answer === 'no') {
        yesNo++;
        if (q.answer === 'yes') yes++;
      }
    }
  }
  for (const k of ['colour', 'shape', 'size', 'count', 'exist', 'relation']) assert.ok((kinds.get(k) ?? 0) > 50, `few ${k} questions`);
  assert.ok(yes / yesNo > 0.4 && yes / yesNo < 0.6, `yes/no balance ${yes}/${yesNo}`);
});

// ------------------------------------------------------------------ NLVR2

test('nlvr2: the statement alone does not tell the label (the majority label of its logical form scores near chance)', () => {
  const form = (s: Statement): string => s.kind === 'compare' ? `compare/${s.cmp}` : s.kind === 'total' ? `total/${s.np.quant.kind}`
    : `each/${s.quant}/${s.body.chunks.map((c) => c.kind === 'np' ? `np/${c.np.quant.kind}${'n' in c.np.quant ? c.np.quant.n : ''}` : 'rel').join('+')}`;
  const train = new ShapesWorld({ seed: 5, n: 1200, split: 'train' });
  const votes = new Map<string, number>();
  for (const ex of train.nlvr2Examples()) votes.set(form(ex.statement), (votes.get(form(ex.statement)) ?? 0) + (ex.label ? 1 : -1));
  const test = new ShapesWorld({ seed: 5, n: 800, split: 'test' });
  let right = 0;
  for (const ex of test.nlvr2Examples()) right += ((votes.get(form(ex.statement)) ?? 0) > 0) === ex.label ? 1 : 0;
  // 400 pairs: chance 0.5 +- 0.05; choosing a statement for fixed scenes by its truth scored 0.70
  assert.ok(right / 400 < 0.6, `the statement's form predicts ${right} of 400 labels`);
});

test('nlvr2: labels are correct (re-parsed from the sentence) and balanced', () => {
  const w = new ShapesWorld({ seed: 41, n: 600 });
  assert.equal(w.config.nlvr2Pairs, 300);
  let nTrue = 0;
  const kinds = new Set<string>();
  for (const ex of w.nlvr2Examples()) {
    const parsed = parseStatement(ex.sentence);
    assert.equal(evalStatement(parsed, ex.left, ex.right), ex.label, `"${ex.sentence}" should be ${ex.label}`);
    // Swapping the images changes the truth of left/right statements only; sanity-check one direction.
    if (parsed.kind === 'each' && parsed.quant === 'both') assert.equal(evalStatement(parsed, ex.right, ex.left), ex.label);
    kinds.add(parsed.kind);
    if (ex.label) nTrue++;
  }
  assert.equal(nTrue, 150);
  assert.deepEqual([...kinds].sort(), ['compare', 'each', 'total']);
  assert.equal(w.nlvr2(7), w.nlvr2(7), 'a pair is generated once and reused');
  const left: Scene = { objects: [obj('circle', 'red', 'large', 0.3, 0.3), obj('star', 'blue', 'small', 0.7, 0.7)] };
  const right: Scene = { objects: [obj('circle', 'red', 'small', 0.7, 0.3)] };
  const judge = (s: string): boolean => evalStatement(parseStatement(s), left, right);
  assert.equal(judge('both images contain a red circle'), true);
  assert.equal(judge('exactly one image contains a blue star'), true);
  assert.equal(judge('the left image has more shapes than the right image'), true);
  assert.equal(judge('the right image contains more red circles than the left image'), false);
  assert.equal(judge('there are exactly two red circles in total'), true);
  assert.equal(judge('in the left image, a red circle is to the left of a blue star'), true);
  assert.equal(judge('neither image contains a large red circle'), false);
});

test('nlvr2: each statement has a type, and the parsed sentence has the same one', () => {
  const type = (s: string): string => statementType(parseStatement(s));
  assert.equal(type('both images contain a red circle'), 'exists/both');
  assert.equal(type('exactly one image contains a blue star'), 'exists/exactlyOne');
  assert.equal(type('neither image contains stars'), 'exists/neither');
  assert.equal(type('the right image contains no red shapes'), 'exists/right');
  assert.equal(type('the left image contains exactly two circles'), 'count/left');
  assert.equal(type('both images contain at least three shapes'), 'count/both');
  assert.equal(type('the left image contains a red circle and two stars'), 'count/left', 'a joined body takes its hardest part');
  assert.equal(type('in the left image, a red circle is to the left of a blue star'), 'relation/left');
  assert.equal(type('the left image has more shapes than the right image'), 'compare');
  assert.equal(type('there are exactly two red circles in total'), 'total');
  const w = new ShapesWorld({ seed: 41, n: 200 });
  const seen = new Set<string>();
  for (const ex of w.nlvr2Examples()) {
    assert.equal(statementType(ex.statement), type(ex.sentence), ex.sentence);
    seen.add(statementType(ex.statement).split('/')[0]!);
  }
  assert.deepEqual([...seen].sort(), ['compare', 'count', 'exists', 'relation', 'total']);
});

test('nlvr2: statements= keeps the kinds asked for, true to the scenes and balanced within each', () => {
  for (const kinds of [['exists'], ['count/left', 'compare']]) {
    const w = new ShapesWorld({ seed: 5, n: 800, nlvr2Statements: kinds });
    const byKind = new Map<string, { yes: number; n: number }>();
    for (const ex of w.nlvr2Examples()) {
      const type = statementType(ex.statement);
      assert.ok(kinds.some((k) => type === k || type.startsWith(`${k}/`)), `${type} is not one of ${kinds.join()}`);
      assert.equal(evalStatement(parseStatement(ex.sentence), ex.left, ex.right), ex.label, ex.sentence);
      const c = byKind.get(kinds.find((k) => type === k || type.startsWith(`${k}/`))!) ?? { yes: 0, n: 0 };
      byKind.set(kinds.find((k) => type === k || type.startsWith(`${k}/`))!, { yes: c.yes + (ex.label ? 1 : 0), n: c.n + 1 });
    }
    assert.deepEqual([...byKind.keys()].sort(), [...kinds].sort(), 'every kind asked for is drawn');
    for (const [k, c] of byKind) assert.ok(c.n >= 40 && Math.abs(c.yes / c.n - 0.5) < 0.16, `${k}: ${c.yes} true of ${c.n}`);
  }
  // every form allowed draws exactly what the default draws
  const all = new ShapesWorld({ seed: 5, n: 120, nlvr2Statements: ['exists', 'count', 'relation', 'compare', 'total'] });
  const dflt = new ShapesWorld({ seed: 5, n: 120 });
  assert.deepEqual([...all.nlvr2Examples()].map((e) => e.sentence), [...dflt.nlvr2Examples()].map((e) => e.sentence));
  assert.throws(() => new ShapesWorld({ seed: 5, n: 10, nlvr2Statements: ['exist'] }), /ShapesWorld: unknown kind of NLVR2 statement "exist": a form \(exists, count, relation, compare, total\)/);
  assert.throws(() => new ShapesWorld({ seed: 5, n: 10, nlvr2Statements: ['compare/left'] }), /unknown kind of NLVR2 statement "compare\/left"/);
  assert.throws(() => new ShapesWorld({ seed: 5, n: 10, maxObjects: 1, nlvr2Statements: ['relation'] }), /relation statements need scenes of two objects/);
});

// ------------------------------------------------------------------ retrieval and captioning

test('retrieval and captioning helpers', () => {
  const w = new ShapesWorld({ seed: 51, n: 40, captionsPerImage: 3 });
  const r = w.retrieval();
  assert.equal(r.texts.length, 120);
  r.textToImage.forEach((img, t) => {
    assert.ok(r.imageToTexts[img]?.includes(t));
    assert.ok(r.relevant[t]?.includes(img), `caption "${r.texts[t]}" is not relevant to its own image`);
  });
  const refs = w.captionReferences();
  assert.equal(refs.length, 40);
  const perfect = semanticAccuracy(refs.map((x) => ({ caption: x.references[0] as string, scene: w.scene(x.index) })));
  assert.deepEqual({ ...perfect, objectRecall: 0 }, { parsed: 1, accuracy: 1, coverage: 1, objectRecall: 0 });
  assert.ok(perfect.objectRecall > 0.5, `reference captions name most objects by colour and shape, got ${perfect.objectRecall}`);
  const shifted = semanticAccuracy(refs.map((x) => ({ caption: refs[(x.index + 1) % 40]?.references[0] as string, scene: w.scene(x.index) })));
  assert.ok(shifted.accuracy < 0.3, `captions of other images are mostly false, got ${shifted.accuracy}`);
  assert.equal(semanticAccuracy([{ caption: 'hello world', scene: w.scene(0) }]).parsed, 0);
  assert.ok(parseCaption('a red circle').chunks.length === 1);
  assert.equal(generateCaptions(w.scene(0), 2, Prng.fromKeys(0)).length, 2);
});

test('object recall: true, partly true, false, empty and ungrammatical captions', () => {
  const scene: Scene = { objects: [obj('circle', 'red', 'large', 0.3, 0.3), obj('circle', 'red', 'small', 0.7, 0.3), obj('star', 'blue', 'small', 0.5, 0.7)] };
  // true and complete: every object named with its colour and shape
  assert.equal(objectRecall('two red circles and a blue star', scene), 1);
  assert.equal(objectRecall('a large red circle to the left of a small red disc; there is also a star that is blue', scene), 1);
  // partly true: one of the two red circles, the star missed
  assert.equal(objectRecall('a red circle', scene), 1 / 3);
  // counts are capped by the scene: naming five gains nothing over two
  assert.equal(objectRecall('five red circles', scene), 2 / 3);
  // a size restricts what a phrase can name
  assert.equal(objectRecall('two small red circles', scene), 1 / 3);
  assert.equal(objectRecall('a large blue star', scene), 0);
  // false: wrong colour-shape pairs, and colour or shape alone
  assert.equal(objectRecall('a blue circle and a red star', scene), 0);
  assert.equal(objectRecall('three red shapes', scene), 0);
  assert.equal(objectRecall('a circle and a star', scene), 0);
  // empty and ungrammatical captions: what is named still counts
  assert.equal(objectRecall('', scene), 0);
  assert.equal(objectRecall('blue star blue star the red circle circle', scene), 2 / 3);
  assert.equal(objectRecall('a', { objects: [] }), 1);
});

// ------------------------------------------------------------------ on disk

test('writer: Karpathy JSON, VQAv2 and NLVR2 files that read back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-shapes-'));
  try {
    const n = 16;
    const sizes = splitSizes(n);
    assert.equal(SHAPES_SPLITS.reduce((s, k) => s + sizes[k], 0), n);
    const summary = await writeShapesDataset({ out: dir, n, seed: 9, imageSize: 32, captionsPerImage: 2, questionsPerImage: 2 });
    const karpathy = JSON.parse(await readFile(join(dir, 'dataset_shapes.json'), 'utf8')) as {
      dataset: string;
      images: Array<{ filepath: string; filename: string; split: string; imgid: number; sentids: number[]; sentences: Array<{ raw: string; tokens: string[]; imgid: number; sentid: number }> }>;
    };
    assert.equal(karpathy.dataset, 'shapes');
    assert.equal(karpathy.images.length, n);
    assert.equal(summary.sentences, 2 * n);
    const sentids = karpathy.images.flatMap((im) => im.sentids);
    assert.equal(new Set(sentids).size, 2 * n);
    for (const split of SHAPES_SPLITS) assert.equal(karpathy.images.filter((im) => im.split === split).length, sizes[split]);
    for (const im of karpathy.images) {
      const path = join(dir, im.filepath, im.filename);
      assert.ok(existsSync(path), path);
      for (const s of im.sentences) {
        assert.equal(s.imgid, im.imgid);
        assert.ok(s.tokens.length > 1 && s.tokens.every((t) => /^[a-z0-9]+$/.test(t)));
      }
    }
    // The PNG holds exactly the rendered pixels.
    const first = karpathy.images.find((im) => im.split === 'train' && im.imgid === 0);
    assert.ok(first);
    const { data, info } = await sharp(join(dir, first.filepath, first.filename)).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [32, 32, 3]);
    assert.ok(Buffer.from(new ShapesWorld({ seed: 9, n: 1, imageSize: 32 }).image(0)).equals(data));
    // Each caption re-checks against the scene it was written for.
    const world = new ShapesWorld({ seed: 9, n: sizes.train, imageSize: 32, captionsPerImage: 2 });
    assert.equal(checkCaption(first.sentences[0]?.raw as string, world.scene(0)).true, true);

    let nq = 0;
    const imgids = new Set(karpathy.images.map((im) => im.imgid));
    for (const split of SHAPES_SPLITS) {
      const qs = JSON.parse(await readFile(join(dir, `vqa/v2_OpenEnded_shapes_${split}_questions.json`), 'utf8')) as { questions: Array<{ image_id: number; question: string; question_id: number }> };
      const an = JSON.parse(await readFile(join(dir, `vqa/v2_shapes_${split}_annotations.json`), 'utf8')) as { annotations: Array<{ question_id: number; image_id: number; multiple_choice_answer: string; answers: Array<{ answer: string; answer_confidence: string; answer_id: number }> }> };
      assert.equal(qs.questions.length, an.annotations.length);
      qs.questions.forEach((q, k) => {
        const a = an.annotations[k];
        assert.ok(a && a.question_id === q.question_id && a.image_id === q.image_id);
        assert.ok(imgids.has(q.image_id));
        assert.equal(a.answers.length, 10);
        assert.ok(VQA_ANSWERS.includes(a.multiple_choice_answer));
      });
      nq += qs.questions.length;

      const nsplit = { train: 'train', val: 'dev', test: 'test1', test_compositional: 'test_compositional' }[split];
      const lines = (await readFile(join(dir, `nlvr2/data/${nsplit}.json`), 'utf8')).split('\n').filter((l) => l.length > 0);
      assert.equal(lines.length, Math.ceil(sizes[split] / 2));
      for (const line of lines) {
        const ex = JSON.parse(line) as { identifier: string; sentence: string; label: string; left_url: string; right_url: string; statement_type: string };
        assert.match(ex.identifier, new RegExp(`^${nsplit}-\\d+-0-0$`));
        assert.ok(ex.label === 'True' || ex.label === 'False');
        assert.ok(existsSync(join(dir, 'nlvr2', ex.left_url)) && existsSync(join(dir, 'nlvr2', ex.right_url)), ex.left_url);
        assert.equal(statementType(parseStatement(ex.sentence)), ex.statement_type, 'the line names its statement type');
      }
      // the NLVR2 reader carries the type into each item's meta, for accuracy per type
      if (lines.length > 0) {
        const read = await openDataset(`nlvr2:${join(dir, `nlvr2/data/${nsplit}.json`)}`);
        const first = read.kind === 'indexed' ? await read.get(0) : null;
        assert.equal(first?.ok && (first.item.meta as { statementType?: string }).statementType, (JSON.parse(lines[0]!) as { statement_type: string }).statement_type);
      }
    }
    assert.equal(nq, 2 * n);
    assert.equal(summary.questions, nq);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
