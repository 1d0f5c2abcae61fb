// Self-contained model folders, `flm export` and the library API (loadModel, evaluate, exportModel), on
// tiny runs: every checkpoint folder holds config.json + tokenizer.json + model.safetensors; a copied
// checkpoint folder whose run folder is gone captions, answers, judges and scores through the CLI (from
// another directory) and through loadModel; older checkpoints (tokenizer in the run folder) still load;
// the export's model card names real commands; the README's library script runs as written; and the
// weights load in Python (safetensors.torch.load_file, or torch with a header parse written here).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { manualSeed } from '../src/tensor/index.js';
import { ShapesWorld } from '../src/data/shapes/index.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import { resolveCheckpoint } from '../src/train/checkpoint.js';
import { MODEL_FOLDER_FORMAT, type ModelFolderConfig } from '../src/train/model-folder.js';
import { PRETRAIN_DEFAULTS, pretrain } from '../src/tasks/pretrain/recipe.js';
import { CAPTION_DEFAULTS, finetuneCaption } from '../src/tasks/caption/recipe.js';
import { finetune, finetuneDefaults } from '../src/tasks/finetune.js';
import { commandLineOf } from '../src/config/command-line.js';
import { CAPTION } from '../src/tasks/caption/spec.js';
import { program } from '../src/cli/main.js';
import { loadModel, evaluate, exportModel, ModelTaskError, type FlmModel } from '../src/index.js';
import { cli } from './cli-helpers.js';
import { checkCommandLine, commandLines } from './command-lines.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'flm.js');
const S = 32;
const world = new ShapesWorld({ seed: 3, n: 8, imageSize: S });
const DATA = 'shapes:train?n=24&seed=3&size=32';

const root = mkdtempSync(join(tmpdir(), 'flm-api-'));
const runs = join(root, 'runs'); // deleted once the copies are made
const copies = join(root, 'elsewhere'); // the copied checkpoint folders
const images = join(root, 'images');
const png = join(images, 'scene.png');
const jpg = join(images, 'other.jpg');
const exported = join(root, 'models', 'cap');
const TASKS = ['pre', 'cap', 'vqa', 'nlvr2', 'ret'] as const;
const copy = (t: (typeof TASKS)[number]): string => join(copies, t);
/** What the run folders gave before they were deleted. */
const ref: { caption?: string; beamCaption?: string; bestCaption?: string; tokenizer?: Record<string, Buffer>; bestStep?: string; captionRun?: string } = {};

const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

before(async () => {
  manualSeed(3);
  // the official init: these 2 + 4 steps then caption with words (the fast init's tiny model says nothing yet)
  const small = { preset: 'tiny' as const, workers: 0, logEvery: 1, saveEvery: 100, batchSize: 4, microBatch: 4, lr: 1e-3, recipe: 'official' as const };
  await pretrain({ ...PRETRAIN_DEFAULTS, ...small, objective: 'flm', data: DATA, out: join(runs, 'pre'), steps: 2, vocabSize: 420 }, { quiet: true });
  await finetuneCaption({
    ...CAPTION_DEFAULTS, ...small, from: join(runs, 'pre'), data: DATA, out: join(runs, 'cap'), steps: 4, evalEvery: 2, valData: 'shapes:val?n=4&seed=3&size=32', evalBatch: 4,
  }, { quiet: true });
  await finetune({ ...finetuneDefaults('vqa'), ...small, from: join(runs, 'pre'), data: `${DATA}&task=vqa`, valData: 'shapes:val?n=2&seed=3&size=32&task=vqa', out: join(runs, 'vqa'), steps: 2, evalEvery: 100, evalBatch: 8 }, { quiet: true });
  await finetune({ ...finetuneDefaults('nlvr2'), ...small, from: join(runs, 'pre'), data: 'shapes:train?n=32&seed=3&size=32&task=nlvr2', valData: null, out: join(runs, 'nlvr2'), steps: 2 }, { quiet: true });
  await finetune({ ...finetuneDefaults('retrieval'), ...small, from: join(runs, 'pre'), data: DATA, valData: null, out: join(runs, 'ret'), steps: 1, negatives: 1 }, { quiet: true });
  mkdirSync(images);
  await sharp(Buffer.from(world.image(0)), { raw: { width: S, height: S, channels: 3 } }).png().toFile(png);
  await sharp(Buffer.from(world.image(1)), { raw: { width: S, height: S, channels: 3 } }).jpeg().toFile(jpg);
  // the export needs the run; the rest works on copies of the latest checkpoints, without their runs
  ref.captionRun = join(runs, 'cap');
  ref.bestStep = readFileSync(join(runs, 'cap', 'checkpoints', 'best'), 'utf8').trim();
  await exportModel(join(runs, 'cap'), { out: exported });
  // the copies are of the latest checkpoints; a run folder loads its best (what the export took)
  const m = await loadModel(join(runs, 'cap'), { which: 'latest' });
  ref.caption = (await m.caption(png)).caption;
  ref.beamCaption = (await m.caption(png, { beam: 3 })).caption;
  m.dispose();
  const best = await loadModel(join(runs, 'cap'));
  ref.bestCaption = (await best.caption(png, { beam: 3 })).caption;
  best.dispose();
  ref.tokenizer = {};
  for (const t of TASKS) {
    cpSync(resolveCheckpoint(join(runs, t), 'latest')!, copy(t), { recursive: true });
    ref.tokenizer[t] = readFileSync(join(runs, t, 'tokenizer.json'));
  }
  // an older checkpoint: no config.json / tokenizer.json in the step folder, the tokenizer in the run folder
  const legacy = join(root, 'legacy', 'checkpoints', 'step-00000004');
  cpSync(resolveCheckpoint(join(runs, 'cap'), 'latest')!, legacy, { recursive: true });
  rmSync(join(legacy, 'config.json'));
  rmSync(join(legacy, 'tokenizer.json'));
  writeFileSync(join(root, 'legacy', 'checkpoints', 'latest'), 'step-00000004\n');
  cpSync(join(runs, 'cap', 'tokenizer.json'), join(root, 'legacy', 'tokenizer.json'));
  rmSync(runs, { recursive: true });
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('model folders', () => {
  it('every checkpoint folder holds config.json (model, tokenizer, head), tokenizer.json and model.safetensors', () => {
    for (const t of TASKS) {
      const dir = copy(t);
      for (const f of ['config.json', 'tokenizer.json', 'model.safetensors', 'state.json']) assert.ok(existsSync(join(dir, f)), `${t}: ${f}`);
      const cfg = readJson<ModelFolderConfig>(join(dir, 'config.json'));
      const state = readJson<{ step: number; modelConfig: unknown; task: string }>(join(dir, 'state.json'));
      assert.equal(cfg.format, MODEL_FOLDER_FORMAT);
      assert.equal(cfg.task, state.task);
      assert.equal(cfg.step, state.step);
      assert.deepEqual(cfg.model, state.modelConfig);
      assert.deepEqual(cfg.tokenizer, { file: 'tokenizer.json', vocabSize: cfg.model.vocab_size, maxLength: cfg.model.max_text_len });
      assert.deepEqual(readFileSync(join(dir, 'tokenizer.json')), ref.tokenizer![t], `${t}: the run's tokenizer`);
    }
    assert.deepEqual(readJson<ModelFolderConfig>(join(copy('pre'), 'config.json')).head, { objective: 'flm' });
    const cap = readJson<ModelFolderConfig>(join(copy('cap'), 'config.json'));
    assert.deepEqual(Object.keys(cap.head).sort(), ['captionTokens', 'compat']);
    assert.equal(cap.settings.data, DATA);
    const vqa = readJson<ModelFolderConfig & { head: { answers: string[] } }>(join(copy('vqa'), 'config.json'));
    assert.equal(vqa.head.answers.length, vqa.model.vqa_label_size);
    assert.deepEqual(readJson<ModelFolderConfig>(join(copy('nlvr2'), 'config.json')).head, {});
    assert.deepEqual(readJson<ModelFolderConfig>(join(copy('ret'), 'config.json')).head, {});
  });

  it('a copied pretraining checkpoint starts a fine-tune (--from) with its own tokenizer', async () => {
    const out = join(root, 'from-copy');
    const r = await finetune({ ...finetuneDefaults('nlvr2'), from: copy('pre'), data: 'shapes:train?n=8&seed=3&size=32&task=nlvr2', valData: null, out, steps: 1, batchSize: 2, workers: 0 }, { quiet: true });
    assert.equal(r.steps, 1);
    assert.deepEqual(readFileSync(join(out, 'tokenizer.json')), ref.tokenizer!.pre);
    assert.equal(readJson<{ preset: string }>(join(out, 'config.json')).preset, 'tiny', 'the model size comes from the copy');
  });

  it('a copied checkpoint, its run folder deleted, captions through the CLI from another directory', () => {
    assert.ok(!existsSync(runs));
    const cwd = mkdtempSync(join(tmpdir(), 'flm-api-cwd-'));
    try {
      cpSync(png, join(cwd, 'photo.png'));
      const r = spawnSync(process.execPath, [BIN, 'caption', '--checkpoint', copy('cap'), 'photo.png', '--beam', '3'], { cwd, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(ref.beamCaption !== '', 'a caption to compare');
      assert.equal(r.stdout.trim(), ref.beamCaption, 'the same caption as from the run folder');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('... and answers, scores and evaluates through the CLI', async () => {
    const vqa = await cli('vqa', png, 'what colour is the circle?', '--checkpoint', copy('vqa'), '--json');
    assert.equal(vqa.code, 0, vqa.err);
    assert.equal(typeof (JSON.parse(vqa.out) as { answer: string }).answer, 'string');
    for (const [t, kind] of [['pre', 'flm'], ['cap', 'caption']] as const) {
      const r = await cli('retrieve', '--images', images, '--text', world.captions(0)[0]!, '--checkpoint', copy(t), '--json');
      assert.equal(r.code, 0, r.err);
      assert.equal((JSON.parse(r.out) as { score: string }).score, kind);
    }
    const e = await cli('eval', 'caption', '--checkpoint', copy('cap'), '--data', 'shapes:test?n=2&seed=3&size=32', '--json');
    assert.equal(e.code, 0, e.err);
    assert.equal((JSON.parse(e.out) as { images: number }).images, 2);
  });

  it('an older checkpoint (tokenizer in the run folder, no config.json) still loads, and exports with a config.json', async () => {
    const m = await loadModel(join(root, 'legacy'));
    assert.equal(m.task, 'caption');
    assert.equal((await m.caption(png, { beam: 3 })).caption, ref.beamCaption);
    m.dispose();
    const out = join(root, 'legacy-export');
    await exportModel(join(root, 'legacy'), { out });
    const cfg = readJson<ModelFolderConfig>(join(out, 'config.json'));
    assert.equal(cfg.task, 'caption');
    assert.deepEqual(Object.keys(cfg.head).sort(), ['captionTokens', 'compat']);
    const again = await loadModel(out);
    assert.equal((await again.caption(png, { beam: 3 })).caption, ref.beamCaption);
    again.dispose();
  });
});

describe('flm export', () => {
  it('writes config.json, tokenizer.json, model.safetensors (the best checkpoint, byte for byte) and a model card', () => {
    assert.deepEqual(readdirSync(exported).sort(), ['README.md', 'config.json', 'model.safetensors', 'tokenizer.json']);
    const cfg = readJson<ModelFolderConfig>(join(exported, 'config.json'));
    assert.equal(`step-${String(cfg.step).padStart(8, '0')}`, ref.bestStep);
    assert.deepEqual(readFileSync(join(exported, 'tokenizer.json')), ref.tokenizer!.cap);
    const card = readFileSync(join(exported, 'README.md'), 'utf8');
    assert.match(card, /^# cap: flm caption model/);
    assert.ok(card.includes(DATA), 'what it was trained on');
    assert.match(card, /best evaluation \(step \d+\): bleu1 [\d.]+, .*cider [\d.]+/);
    assert.match(card, /final training loss: [\d.]+/);
    const cmd = /```sh\n(flm finetune caption [^\n]+)\n```/.exec(card)?.[1];
    assert.ok(cmd, 'the command that made it');
    for (const want of ['--steps 4', '--eval-every 2', '--preset tiny', `--from ${join(ref.captionRun!, '..', 'pre')}`, `--out ${ref.captionRun}`]) assert.ok(cmd.includes(want), `${want} in ${cmd}`);
    // every flm command the card names exists with its options
    const root = program();
    const lines = commandLines(card);
    assert.ok(lines.length >= 2);
    for (const l of lines) assert.deepEqual(checkCommandLine(root, l.text), [], l.text);
  });

  it('the command line of a run: settings at their defaults left out, others as flags', () => {
    const line = commandLineOf(CAPTION, { ...CAPTION_DEFAULTS, out: '/r/cap', steps: 9, newTokens: false, valData: null, data: 'shapes:train?n=3&size=32' });
    assert.equal(line, "flm finetune caption --data 'shapes:train?n=3&size=32' --out /r/cap --steps 9 --no-new-tokens");
  });

  it('flm export through the CLI: --json, a non-empty --out refused unless --force, --format checked', async () => {
    const out = join(root, 'cli-export');
    const r = await cli('export', copy('vqa'), '--out', out, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { command: string; task: string; format: string; files: string[]; metrics: { step: number } };
    assert.deepEqual([j.command, j.task, j.format, j.metrics.step], ['export', 'vqa', 'safetensors', 2]);
    assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /flm vqa --checkpoint cli-export/);
    const again = await cli('export', copy('vqa'), '--out', out);
    assert.equal(again.code, 1);
    assert.match(again.err, /is not empty \(use --force/);
    assert.equal((await cli('export', copy('vqa'), '--out', out, '--force')).code, 0);
    const bad = await cli('export', copy('vqa'), '--out', join(root, 'x'), '--format', 'pickle');
    assert.notEqual(bad.code, 0);
    assert.ok(!existsSync(join(root, 'x')));
    assert.match((await cli('export', join(root, 'nowhere'), '--out', join(root, 'y'))).err, /nowhere does not exist/);
    const help = await cli('export', '--help');
    assert.equal(help.code, 0);
  });
});

describe('loadModel', () => {
  const models = new Map<string, FlmModel>();
  before(async () => {
    for (const t of TASKS) models.set(t, await loadModel(copy(t)));
    models.set('exported', await loadModel(exported));
  });
  after(() => {
    for (const m of models.values()) m.dispose();
  });

  it('knows its task, step and capabilities', () => {
    const cap = models.get('cap')!;
    assert.equal(cap.task, 'caption');
    assert.equal(cap.step, 4);
    assert.equal(cap.config.image_size, S);
    assert.deepEqual(cap.capabilities, ['caption', 'score', 'embed']);
    assert.deepEqual(models.get('vqa')!.capabilities, ['answer', 'embed']);
    assert.deepEqual(models.get('nlvr2')!.capabilities, ['judge', 'embed']);
    assert.deepEqual(models.get('pre')!.capabilities, ['score', 'embed']);
    assert.deepEqual(models.get('ret')!.capabilities, ['score', 'embed']);
  });

  it('caption(): one image or several; a path, encoded bytes and RGB pixels give the same caption', async () => {
    const cap = models.get('cap')!;
    const one = await cap.caption(png);
    assert.equal(one.caption, ref.caption);
    const pixels = { data: world.image(0), width: S, height: S };
    const many = await cap.caption([png, readFileSync(png), pixels, jpg]);
    assert.equal(many.length, 4);
    assert.deepEqual(many.slice(0, 3).map((c) => c.caption), [one.caption, one.caption, one.caption]);
    const beam = await cap.caption([png, readFileSync(png), pixels], { beam: 3 });
    assert.deepEqual(beam.map((c) => c.caption), [ref.beamCaption, ref.beamCaption, ref.beamCaption]);
    assert.equal((await models.get('exported')!.caption(png, { beam: 3 })).caption, ref.bestCaption, 'the export is the run\'s best checkpoint');
  });

  it('answer(), judge(), score() and embed()', async () => {
    const a = await models.get('vqa')!.answer(png, 'what colour is the circle?', { top: 3 });
    assert.equal(a.top.length, 3);
    assert.equal(a.top[0]!.answer, a.answer);
    assert.ok(a.top[0]!.score >= a.top[1]!.score && a.score >= 0 && a.score <= 1);
    const j = await models.get('nlvr2')!.judge([png, jpg], 'there is a circle in both images');
    assert.ok(j.probability >= 0 && j.probability <= 1 && j.label === j.probability > 0.5);
    const texts = [world.captions(0)[0]!, world.captions(1)[0]!, 'nothing at all'];
    for (const [t, kind] of [['cap', 'caption'], ['pre', 'flm'], ['ret', 'rank']] as const) {
      const s = await models.get(t)!.score([png, jpg], texts);
      assert.equal(s.kind, kind);
      assert.equal(s.scores.length, 2);
      for (const row of s.scores) assert.ok(row.length === 3 && row.every(Number.isFinite), `${t}: ${row}`);
    }
    // the CLI ranks with the same scores
    const r = await cli('retrieve', '--images', images, '--text', texts[0]!, '--checkpoint', copy('pre'), '--json');
    const ranked = (JSON.parse(r.out) as { ranked: { path: string; score: number }[] }).ranked;
    const s = (await models.get('pre')!.score([jpg, png], [texts[0]!])).scores;
    assert.ok(Math.abs(ranked.find((x) => x.path === png)!.score - s[1]![0]!) < 1e-5);
    const img = await models.get('vqa')!.embed({ images: [png, readFileSync(jpg)] });
    assert.deepEqual([img.kind, img.feature, img.dim, img.vectors.length], ['image', 'vit_cls_ln_post', 32, 2]);
    const txt = await models.get('cap')!.embed({ texts });
    assert.deepEqual([txt.kind, txt.dim, txt.vectors.length], ['text', 32, 3]);
  });

  it('clear errors: a method without a head, bad images, a disposed model', async () => {
    const cap = models.get('cap')!;
    await assert.rejects(cap.answer(png, 'what?'), (e: Error) => e instanceof ModelTaskError && /answer\(\) needs a VQA model; .* is a caption model\. Fine-tune one with `flm finetune vqa --from/.test(e.message));
    await assert.rejects(models.get('vqa')!.caption(png), /caption\(\) needs a caption model/);
    await assert.rejects(models.get('vqa')!.score([png], ['a']), /score\(\) needs a retrieval, caption or pretraining model/);
    await assert.rejects(models.get('nlvr2')!.answer(png, 'what?'), /use judge\(\[left, right\], statement\)/);
    await assert.rejects(cap.caption(join(root, 'nope.png')), /image .*nope\.png does not exist/);
    await assert.rejects(cap.caption(Buffer.from('not an image')), /cannot decode image #0 \(12 bytes\)/);
    await assert.rejects(cap.caption({ data: new Uint8Array(S * S * 4), width: S, height: S }), /that is RGBA/);
    await assert.rejects(cap.score([png], ['  ']), /query text is empty/);
    await assert.rejects(loadModel(images), /is not a checkpoint/);
    const broken = join(root, 'broken');
    cpSync(exported, broken, { recursive: true });
    rmSync(join(broken, 'tokenizer.json'));
    await assert.rejects(loadModel(broken), /model folder .*broken is incomplete: tokenizer\.json is missing/);
    const cfg = readJson<ModelFolderConfig>(join(exported, 'config.json'));
    writeFileSync(join(broken, 'config.json'), JSON.stringify({ ...cfg, formatVersion: 99 }));
    await assert.rejects(loadModel(broken), /format version 99 is not one this flm reads \(up to 1\): update flm/);
    const m = await loadModel(copy('cap'));
    m.dispose();
    m.dispose();
    await assert.rejects(m.caption(png), /was disposed/);
  });
});

describe('evaluate()', () => {
  it('takes flm eval\'s settings and gives the same metrics', async () => {
    const data = 'shapes:test?n=2&seed=3&size=32';
    const r = await evaluate(exported, { data, beam: 2 });
    assert.equal(r.task, 'caption');
    assert.equal(r.captions!.images, 2);
    const c = await cli('eval', 'caption', '--checkpoint', exported, '--data', data, '--beam', '2', '--json');
    assert.deepEqual((JSON.parse(c.out) as { metrics: unknown }).metrics, r.metrics);
    const file = join(mkdtempSync(join(tmpdir(), 'flm-vqa-pred-')), 'predictions.json');
    const v = await evaluate(copy('vqa'), { data: 'shapes:val?n=2&seed=3&size=32&task=vqa', batchSize: 4, predictions: file });
    assert.ok(v.metrics.vqa_score! >= 0 && v.metrics.vqa_score! <= 1 && v.predictions!.length === 6);
    assert.ok(v.metrics.vqa_prior_score! >= 0 && v.metrics.vqa_prior_score! <= 1, 'the answer prior is scored beside the model');
    // the predictions file is the EvalAI submission format: exactly {question_id, answer}
    const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    assert.deepEqual(written.map((p) => Object.keys(p).sort()), written.map(() => ['answer', 'question_id']));
    assert.ok(v.predictions!.every((p) => typeof p.question === 'string' && typeof p.question_type === 'string'));
    // the score per question type and answer type (the shapes world's kinds; VQAv2's three answer types)
    const byType = v.breakdown!;
    assert.equal(Object.values(byType.question_type).reduce((a, t) => a + t.n, 0), 6);
    assert.ok(Object.keys(byType.answer_type).every((k) => ['yes/no', 'number', 'other'].includes(k)), Object.keys(byType.answer_type).join());
    const printedVqa = await cli('eval', 'vqa', '--checkpoint', copy('vqa'), '--data', 'shapes:val?n=2&seed=3&size=32&task=vqa', '--batch-size', '4');
    assert.match(printedVqa.out, /^question type +score +prior +n$/m);
    assert.match(printedVqa.out, /^vqa_prior_score +[\d.]+%$/m);
    // NLVR2: each statement's verdict with the official prediction keys, the statement and its label
    const nfile = join(dirname(file), 'nlvr2.json');
    const nd = 'shapes:val?n=8&seed=3&size=32&task=nlvr2';
    const n = await evaluate(copy('nlvr2'), { data: nd, batchSize: 3, predictions: nfile });
    const verdicts = JSON.parse(readFileSync(nfile, 'utf8')) as { identifier: string; prediction: string; sentence: string; label: string }[];
    assert.equal(verdicts.length, 4);
    assert.deepEqual(verdicts.map((j) => j.identifier), ['val-0-0', 'val-1-0', 'val-2-0', 'val-3-0']);
    assert.ok(verdicts.every((j) => /^(True|False)$/.test(j.prediction) && /^(True|False)$/.test(j.label) && j.sentence.length > 0));
    assert.equal(verdicts.filter((j) => j.prediction === j.label).length / 4, n.metrics.accuracy, 'the accuracy is the share of verdicts that match the label');
    // the shapes world names each statement's type: the accuracy per type covers every verdict
    assert.ok(n.judgements!.every((j) => typeof j.statement_type === 'string'));
    assert.equal(Object.values(n.statementBreakdown!.statement_type).reduce((a, t) => a + t.n, 0), 4);
    const hits = Object.values(n.statementBreakdown!.statement_form).reduce((a, t) => a + t.accuracy * t.n, 0);
    assert.ok(Math.abs(hits / 4 - n.metrics.accuracy!) < 1e-9, 'the per-form accuracies add up to the overall one');
    // a split without labels (NLVR2's hidden test): the verdicts still come out, with no accuracy
    const hidden = join(root, 'nlvr2-hidden');
    mkdirSync(hidden, { recursive: true });
    cpSync(png, join(hidden, 'a.png'));
    cpSync(jpg, join(hidden, 'b.jpg'));
    writeFileSync(join(hidden, 'test.json'), ['s-1-0', 's-2-0'].map((identifier) => JSON.stringify({ identifier, sentence: 'there is a circle', left_url: 'a.png', right_url: 'b.jpg' })).join('\n'));
    const hfile = join(dirname(file), 'hidden.json');
    const h = await evaluate(copy('nlvr2'), { data: `nlvr2:${join(hidden, 'test.json')}?images=${hidden}`, predictions: hfile });
    assert.deepEqual(h.metrics, { n: 0 });
    const hv = JSON.parse(readFileSync(hfile, 'utf8')) as { identifier: string; prediction: string; label?: string }[];
    assert.deepEqual(hv.map((j) => j.identifier), ['s-1-0', 's-2-0']);
    assert.ok(hv.every((j) => /^(True|False)$/.test(j.prediction) && j.label === undefined));
    const nc = await cli('eval', 'nlvr2', '--checkpoint', copy('nlvr2'), '--data', nd, '--json');
    const printed = JSON.parse(nc.out) as Record<string, unknown>;
    assert.deepEqual(printed.metrics, n.metrics);
    assert.equal(printed.judgements, undefined, '--json prints the summary, not every verdict');
    assert.deepEqual(printed.statementBreakdown, n.statementBreakdown);
    const table = await cli('eval', 'nlvr2', '--checkpoint', copy('nlvr2'), '--data', nd);
    assert.match(table.out, /^statement form +accuracy +n$/m);
    // flm probe: the race's probes on one checkpoint; a fine-tuned model has no pretraining loss, so linear probes only
    const probeArgs = ['--data', 'shapes:val?n=8&seed=3&size=32', '--zs-images', '4', '--way', '2', '--mp-images', '4', '--lp-train', '8', '--lp-test', '8', '--lp-steps', '5', '--json'];
    const pre = JSON.parse((await cli('probe', '--checkpoint', copy('pre'), ...probeArgs)).out) as { metrics: Record<string, number>; objective: string | null; probeTrainData: string };
    assert.equal(pre.objective, 'flm');
    assert.equal(pre.probeTrainData, 'shapes:train?n=8&seed=3&size=32');
    for (const k of ['zs_i2t_r1', 'zs_t2i_r1', 'mp_mean', 'lp_colour', 'lp_shape', 'lp_count', 'lp_shape_local']) assert.ok(pre.metrics[k]! >= 0 && pre.metrics[k]! <= 1, `${k} ${pre.metrics[k]}`);
    const capProbe = JSON.parse((await cli('probe', '--checkpoint', copy('cap'), ...probeArgs)).out) as { metrics: Record<string, number>; objective: string | null };
    assert.equal(capProbe.objective, null);
    assert.deepEqual(Object.keys(capProbe.metrics).sort(), ['lp_colour', 'lp_count', 'lp_shape', 'lp_shape_local', 'probe_s']);
    const nothing = await cli('probe', '--checkpoint', copy('cap'), ...probeArgs.slice(0, -1), '--lp-steps', '0');
    assert.notEqual(nothing.code, 0);
    assert.match(nothing.err, /nothing to probe: .* fine-tuned caption model/);
    const noRun = await cli('probe', '--checkpoint', join(root, 'nowhere'));
    assert.notEqual(noRun.code, 0);
    assert.match(noRun.err, /nowhere/);
    const z = await evaluate(copy('pre'), { task: 'retrieval', zeroShot: true, data: 'shapes:val?n=3&seed=3&size=32' });
    assert.equal(z.zeroShotObjective, 'flm');
    await assert.rejects(evaluate(copy('pre')), /a pretraining model is evaluated by zero-shot retrieval/);
    await assert.rejects(evaluate(copy('vqa'), { beam: 2 }), /beam is a caption setting/);
    await assert.rejects(evaluate(copy('vqa'), { bogus: 1 } as never), /unknown setting\(s\) bogus/);
  });
});

describe('the README', () => {
  it('its library script runs as written (models/cap and photo.png in the working folder)', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const script = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((s) => s.includes('loadModel'));
    assert.ok(script, 'a ```js block using loadModel');
    assert.ok(script.split('\n').filter(Boolean).length <= 12, 'about ten lines');
    const dir = join(root, 'readme');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(REPO, join(dir, 'node_modules', 'flm'), 'dir'); // `import ... from 'flm'` resolves as for a user
    cpSync(exported, join(dir, 'models', 'cap'), { recursive: true });
    cpSync(png, join(dir, 'photo.png'));
    writeFileSync(join(dir, 'script.mjs'), script);
    const r = spawnSync(process.execPath, ['script.mjs'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^caption: ${ref.bestCaption!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(r.stdout, /^caption scores: -?[\d.]+ -?[\d.]+$/m);
    assert.match(r.stdout, /^CIDEr-D: [\d.]+$/m);
  });
});

describe('model.safetensors in Python', () => {
  // an independent reader: safetensors' own loader when installed, else torch with the format's header
  // parsed here (8-byte little-endian length, JSON header, contiguous data offsets covering the file)
  const SCRIPT = `
import json, struct, sys
path = sys.argv[1]
try:
    from safetensors.torch import load_file
    tensors, reader = load_file(path), 'safetensors.torch.load_file'
except ImportError:
    import torch
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    dtypes = {'F32': (torch.float32, 4), 'F16': (torch.float16, 2), 'BF16': (torch.bfloat16, 2), 'I64': (torch.int64, 8), 'I32': (torch.int32, 4), 'U8': (torch.uint8, 1), 'BOOL': (torch.bool, 1)}
    entries = sorted(((k, v) for k, v in header.items() if k != '__metadata__'), key=lambda kv: kv[1]['data_offsets'][0])
    data, end, tensors = b[8 + n:], 0, {}
    for k, v in entries:
        s, e = v['data_offsets']
        dt, size = dtypes[v['dtype']]
        numel = 1
        for d in v['shape']: numel *= d
        assert s == end, f'{k}: data starts at {s}, the previous tensor ended at {end}'
        assert e - s == numel * size, f'{k}: {e - s} bytes for {numel} x {size}'
        tensors[k] = torch.frombuffer(bytearray(data[s:e]), dtype=dt).reshape(v['shape']) if numel else torch.zeros(v['shape'], dtype=dt)
        end = e
    assert end == len(data), f'{len(data) - end} bytes after the last tensor'
    reader = 'torch + header parse'
print(json.dumps({'reader': reader, 'tensors': {k: [list(t.shape), float(t.double().sum())] for k, t in tensors.items()}}))
`;

  function python(): { exe: string; why?: never } | { exe?: never; why: string } {
    const tried: string[] = [];
    for (const exe of ['python3', '/usr/bin/python3']) {
      const probe = spawnSync(exe, ['-c', 'import importlib.util as u; print(bool(u.find_spec("safetensors")), bool(u.find_spec("torch")))'], { encoding: 'utf8' });
      if (probe.status !== 0) {
        tried.push(`${exe}: not runnable`);
        continue;
      }
      const [st, torch] = probe.stdout.trim().split(' ');
      if (torch === 'True') return { exe }; // load_file needs torch too
      tried.push(`${exe}: safetensors ${st === 'True' ? 'yes' : 'no'}, torch no`);
    }
    return { why: `no Python with torch (${tried.join('; ')})` };
  }

  it('the copied checkpoint\'s weights load with the official names, shapes and values', (t) => {
    const py = python();
    if (!py.exe) return void t.skip(py.why);
    const file = join(copy('cap'), 'model.safetensors');
    const r = spawnSync(py.exe, ['-c', SCRIPT, file], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { reader: string; tensors: Record<string, [number[], number]> };
    t.diagnostic(`read by ${py.exe}: ${got.reader}`);
    const ours = loadSafetensors(file).tensors;
    try {
      assert.deepEqual(Object.keys(got.tensors).sort(), [...ours.keys()].sort());
      assert.ok(ours.has('text_transformer.embeddings.word_embeddings.weight') && ours.has('lm_score.decoder.weight'), 'official names');
      for (const [k, tensor] of ours) {
        const [shape, sum] = got.tensors[k]!;
        assert.deepEqual(shape, tensor.shape, k);
        const mine = [...tensor.toFlatArray()].reduce((a: number, v) => a + Number(v), 0);
        assert.ok(Math.abs(sum - mine) <= 1e-6 * Math.max(1, Math.abs(mine)) + 1e-4, `${k}: ${sum} vs ${mine}`);
      }
    } finally {
      for (const x of ours.values()) x.dispose();
    }
  });
});
