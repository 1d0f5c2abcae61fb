import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dataInspectCommand } from '../src/data/commands.js';
import { readJsonArray } from '../src/data/formats/common.js';
import { fillTemplate } from '../src/data/formats/vqa.js';
import { splitMemberName } from '../src/data/formats/webdataset.js';
import { inspectDataset } from '../src/data/inspect.js';
import { openDataset, parseDatasetSpec } from '../src/data/spec.js';
import { DataError, type DatasetSource, type DataItem, type SourceEntry } from '../src/data/types.js';
import { makeImages, tempDir, writeArrow, writeTar, type ImageFixtures } from './data-fixtures.js';

let root: string;
let fx: ImageFixtures;
let cleanup: () => Promise<void>;

async function entries(src: DatasetSource): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  for await (const e of src) out.push(e);
  return out;
}

const items = (es: SourceEntry[]): DataItem[] => es.flatMap((e) => (e.ok ? [e.item] : []));

before(async () => {
  const t = await tempDir('formats');
  root = t.dir;
  cleanup = t.cleanup;
  fx = await makeImages(join(root, 'img'));
});
after(() => cleanup());

describe('dataset spec strings', () => {
  it('parses scheme:path?query and guesses the scheme from the extension', () => {
    const s = parseDatasetSpec('karpathy:data/dataset_coco.json?images=data/coco&split=train');
    assert.equal(s.scheme, 'karpathy');
    assert.equal(s.path, 'data/dataset_coco.json');
    assert.equal(s.query.get('images'), 'data/coco');
    assert.equal(parseDatasetSpec('shards/{000..015}.tar').scheme, 'wds');
    assert.equal(parseDatasetSpec('x/pairs.tsv?header=0').scheme, 'tsv');
    assert.equal(parseDatasetSpec('shapes:train?n=20000&seed=1').path, 'train');
    assert.throws(() => parseDatasetSpec('foo:bar'), DataError);
    assert.throws(() => parseDatasetSpec(''), DataError);
  });

  it('refuses a query key the scheme does not read, naming it and the known ones (was ignored)', () => {
    assert.throws(() => parseDatasetSpec('shapes:train?n=5&sz=32'), (e: unknown) => e instanceof DataError
      && e.message === `dataset spec "shapes:train?n=5&sz=32": unknown key 'sz'; shapes: data takes n, seed, size, task, captions, questions, pairs, objects, statements`);
    assert.throws(() => parseDatasetSpec('vqa:q.json?split=train'), /unknown key 'split'; vqa: data takes annotations, images, template, subtype/);
    assert.throws(() => parseDatasetSpec('data/x.arrow?splits=train'), /unknown key 'splits'; arrow: data takes split, image, caption, cache/);
    assert.throws(() => parseDatasetSpec('shapes:train?n=5&n=6'), /key 'n' is given twice/);
  });

  it('every spec in the help, the README and the task defaults uses keys its scheme reads', async () => {
    const { readFileSync } = await import('node:fs');
    const { DATASET_SPEC_HELP } = await import('../src/data/spec.js');
    const { TASKS } = await import('../src/tasks/registry.js');
    const { DEFAULT_PRETRAIN_DATA } = await import('../src/config/settings.js');
    const text = [DATASET_SPEC_HELP, readFileSync('README.md', 'utf8'), readFileSync('src/data/README.md', 'utf8'), readFileSync('docs/settings.md', 'utf8'), DEFAULT_PRETRAIN_DATA,
      JSON.stringify(Object.values(TASKS).map((t) => t.spec))].join('\n');
    const specs = [...text.matchAll(/\b(?:shapes|karpathy|jsonl|csv|tsv|wds|arrow|vqa|nlvr2):[^\s'"`,)\]]*\?[^\s'"`,)\]]+/g)].map((m) => m[0]);
    assert.ok(specs.length >= 15, specs.join('\n'));
    for (const s of specs) assert.doesNotThrow(() => parseDatasetSpec(s), s);
  });

  it('fills VQA image templates and splits webdataset member names', () => {
    assert.equal(fillTemplate('{subtype}/COCO_{subtype}_{id:012}.jpg', 42, 'val2014'), 'val2014/COCO_val2014_000000000042.jpg');
    assert.equal(fillTemplate('{id}.png', 7, ''), '7.png');
    assert.deepEqual(splitMemberName('a/b/000123.seg.jpg'), { key: 'a/b/000123', ext: 'seg.jpg' });
    assert.deepEqual(splitMemberName('000123.txt'), { key: '000123', ext: 'txt' });
  });
});

describe('Karpathy JSON', () => {
  let spec: string;
  before(async () => {
    const rel = (n: string): { filepath: string; filename: string } => ({ filepath: 'img', filename: (fx.paths[n] as string).split('/').pop() as string });
    const doc = {
      dataset: 'coco',
      images: [
        { ...rel('red_jpg'), split: 'train', cocoid: 1, sentences: [{ raw: 'A red thing.' }, { raw: 'Red!' }] },
        { ...rel('blue_png'), split: 'val', cocoid: 2, sentences: [{ raw: 'A blue thing' }] },
        { ...rel('green_webp'), split: 'restval', cocoid: 3, sentences: [{ raw: 'green' }, { raw: 'verdant' }, { raw: 'grass-like' }] },
        { ...rel('truncated_jpg'), split: 'train', cocoid: 4, sentences: [{ raw: 'cut off' }] },
        { filepath: 'img', filename: 'missing.jpg', split: 'test', cocoid: 5, sentences: [{ raw: 'gone' }] },
        { filepath: 'img', split: 'train', sentences: [{ raw: 'no file name' }] },
      ],
    };
    await writeFile(join(root, 'dataset_coco.json'), JSON.stringify(doc));
    spec = `karpathy:${join(root, 'dataset_coco.json')}`;
  });

  it('reads images, captions and splits, with the image root defaulting to the JSON folder', async () => {
    const src = await openDataset(spec);
    assert.equal(src.kind, 'indexed');
    const all = items(await entries(src));
    assert.equal(all.length, 5);
    assert.deepEqual(all[0]?.captions, ['A red thing.', 'Red!']);
    assert.deepEqual(all[0]?.images, [{ kind: 'path', path: fx.paths.red_jpg }]);
    assert.equal(all[0]?.key, '1');
    assert.equal(src.openFailures.length, 1);
  });

  it('filters splits (train + restval)', async () => {
    const src = await openDataset(`${spec}?split=train,restval`);
    assert.deepEqual(items(await entries(src)).map((i) => i.key), ['1', '3', '4']);
  });

  it('inspect counts usable images and captions and lists failures', async () => {
    const r = await inspectDataset(spec);
    assert.equal(r.images, 3);
    assert.equal(r.captions, 6);
    assert.equal(r.failed, 3);
    const reasons = r.failures.map((f) => f.path).join(' ');
    assert.match(reasons, /truncated_jpg/);
    assert.match(reasons, /missing\.jpg/);
    assert.deepEqual(r.splits.train, { images: 1, captions: 2, items: 1 });
    assert.deepEqual(r.splits.restval, { images: 1, captions: 3, items: 1 });
  });

  it('streams large JSON with stream-json', async () => {
    const viaStream = await readJsonArray(join(root, 'dataset_coco.json'), 'images', 'test', 0);
    const viaParse = await readJsonArray(join(root, 'dataset_coco.json'), 'images', 'test');
    assert.deepEqual(viaStream, viaParse);
  });

  it('a missing file is a clear error', async () => {
    await assert.rejects(openDataset(`karpathy:${join(root, 'nope.json')}`), /not found/);
  });
});

describe('JSONL, CSV and TSV', () => {
  before(async () => {
    const lines = [
      JSON.stringify({ image: 'img/red_jpg.jpg', caption: 'a red image' }),
      JSON.stringify({ image: 'img/red_jpg.jpg', caption: 'red again' }),
      JSON.stringify({ file_name: 'img/blue_png.png', captions: ['blue', 'more blue'] }),
      '{ not json',
      JSON.stringify({ image: 'img/grey_png.png' }),
      JSON.stringify({ image: 'img/corrupt_jpg.jpg', text: 'corrupt' }),
    ];
    await writeFile(join(root, 'pairs.jsonl'), `${lines.join('\n')}\n`);
    await writeFile(join(root, 'pairs.csv'), 'image,caption,split\nimg/red_jpg.jpg,"red, with a comma",train\nimg/palette_png.png,"a ""quoted"" palette",val\nimg/missing.jpg,gone,train\n');
    await writeFile(join(root, 'pairs.tsv'), 'a grey square\timg/grey_png.png\n16 bit\timg/deep16_png.png\n');
  });

  it('JSONL groups rows by image and reports bad lines', async () => {
    const src = await openDataset(join(root, 'pairs.jsonl'));
    const all = items(await entries(src));
    assert.deepEqual(all.map((i) => i.captions), [['a red image', 'red again'], ['blue', 'more blue'], ['corrupt']]);
    assert.equal(src.openFailures.length, 2);
    const r = await inspectDataset(`jsonl:${join(root, 'pairs.jsonl')}`);
    assert.deepEqual([r.images, r.captions, r.failed], [2, 4, 3]);
  });

  it('an image name that climbs out of the image root is a counted failure, never opened', async () => {
    const lines = [
      JSON.stringify({ image: 'img/red_jpg.jpg', caption: 'fine' }),
      JSON.stringify({ image: '../../../../etc/passwd', caption: 'escape' }),
      JSON.stringify({ image: 'img/../../outside.png', caption: 'escape too' }),
    ];
    await writeFile(join(root, 'escape.jsonl'), `${lines.join('\n')}\n`);
    const src = await openDataset(join(root, 'escape.jsonl'));
    assert.deepEqual(items(await entries(src)).map((i) => i.captions), [['fine']]);
    assert.deepEqual(src.openFailures.map((f) => f.reason), ["image name '../../../../etc/passwd' leaves the image root", "image name 'img/../../outside.png' leaves the image root"]);
    await writeFile(join(root, 'escape.csv'), 'image,caption\n../secret.png,nope\nimg/red_jpg.jpg,yes\n');
    const csv = await openDataset(join(root, 'escape.csv'));
    assert.equal(items(await entries(csv)).length, 1);
    assert.equal(csv.openFailures.length, 1);
  });

  it('CSV handles quotes and embedded commas, and filters splits', async () => {
    const src = await openDataset(`csv:${join(root, 'pairs.csv')}`);
    const all = items(await entries(src));
    assert.deepEqual(all.map((i) => i.captions[0]), ['red, with a comma', 'a "quoted" palette', 'gone']);
    const train = items(await entries(await openDataset(`csv:${join(root, 'pairs.csv')}?split=train`)));
    assert.equal(train.length, 2);
    const r = await inspectDataset(`csv:${join(root, 'pairs.csv')}`);
    assert.deepEqual([r.images, r.failed], [2, 1]);
  });

  it('TSV without a header takes column positions', async () => {
    const src = await openDataset(`tsv:${join(root, 'pairs.tsv')}?header=0&image=1&caption=0`);
    const all = items(await entries(src));
    assert.deepEqual(all.map((i) => i.captions[0]), ['a grey square', '16 bit']);
    const r = await inspectDataset(`tsv:${join(root, 'pairs.tsv')}?header=0&image=1&caption=0`);
    assert.deepEqual([r.images, r.captions, r.failed], [2, 2, 0]);
  });
});

describe('webdataset shards', () => {
  before(async () => {
    await mkdir(join(root, 'wds'));
    await writeTar(join(root, 'wds', '000.tar'), [
      { name: 's/000000.jpg', data: fx.bytes.red_jpg as Buffer },
      { name: 's/000000.txt', data: 'a red square' },
      { name: 's/000001.png', data: fx.bytes.blue_png as Buffer },
      { name: 's/000001.json', data: JSON.stringify({ caption: 'a blue square', split: 'train' }) },
      { name: 's/000002.jpg', data: fx.bytes.corrupt_jpg as Buffer },
      { name: 's/000002.txt', data: 'broken image member' },
      { name: 's/000003.txt', data: 'caption without image' },
    ]);
    await writeTar(join(root, 'wds', '001.tar'), [
      { name: '000010.webp', data: fx.bytes.green_webp as Buffer },
      { name: '000010.txt', data: 'green' },
      { name: '000011.jpg', data: fx.bytes.red_jpg as Buffer },
      { name: '000011.txt', data: 'the tar is cut inside this sample' },
    ], true);
  });

  it('expands braces, streams samples and reports broken members, broken and missing shards', async () => {
    const src = await openDataset(`wds:${join(root, 'wds')}/{000..002}.tar`);
    assert.equal(src.kind, 'stream');
    if (src.kind !== 'stream') return;
    assert.equal(src.shards.length, 3);
    const es = await entries(src);
    const good = items(es);
    assert.deepEqual(good.map((i) => i.captions[0]), ['a red square', 'a blue square', 'broken image member', 'green']);
    assert.equal(good[1]?.split, 'train');
    const bad = es.flatMap((e) => (e.ok ? [] : [e]));
    assert.equal(bad.length, 3);
    assert.match(bad[0]?.reason ?? '', /no image/);
    assert.match(bad[1]?.reason ?? '', /broken tar|unexpected end/i);
    assert.match(bad[2]?.reason ?? '', /not found/);
  });

  it('inspect decodes the image members', async () => {
    const r = await inspectDataset(`wds:${join(root, 'wds')}/{000..002}.tar`);
    assert.deepEqual([r.images, r.captions, r.failed], [3, 3, 4]);
  });

  it('takes globs', async () => {
    const src = await openDataset(`wds:${join(root, 'wds')}/*.tar`);
    assert.equal(src.kind === 'stream' ? src.shards.length : 0, 2);
  });
});

describe('Arrow (ViLT/METER layout)', () => {
  before(async () => {
    await mkdir(join(root, 'arrow'));
    const b = fx.bytes;
    await writeArrow(join(root, 'arrow', 'coco_train.arrow'), [
      [
        { image: b.red_jpg as Buffer, caption: ['red one', 'red two'], image_id: 'r', split: 'train' },
        { image: b.blue_png as Buffer, caption: ['blue'], image_id: 'b', split: 'val' },
      ],
      [
        { image: b.truncated_jpg as Buffer, caption: ['cut'], image_id: 't', split: 'train' },
        { image: null, caption: ['no bytes'], image_id: 'n', split: 'train' },
        { image: b.grey_png as Buffer, caption: ['grey'], image_id: 'g', split: 'train' },
      ],
    ]);
    await writeFile(join(root, 'arrow', 'junk.arrow'), 'not arrow');
  });

  it('reads rows lazily by record batch, with blocks for the loader', async () => {
    const src = await openDataset(`arrow:${join(root, 'arrow')}/coco_*.arrow`);
    assert.equal(src.kind, 'indexed');
    if (src.kind !== 'indexed') return;
    assert.equal(src.length, 5);
    assert.deepEqual(src.blocks, [2, 3]);
    assert.equal(src.captionCount(0), 2);
    const e = await src.get(4);
    assert.ok(e.ok);
    if (e.ok) {
      assert.deepEqual(e.item.captions, ['grey']);
      assert.equal(e.item.images[0]?.kind, 'bytes');
    }
    const empty = await src.get(3);
    assert.equal(empty.ok, false);
    await src.close?.();
  });

  it('filters splits and reports unreadable files and images', async () => {
    const src = await openDataset(`arrow:${join(root, 'arrow')}/*.arrow?split=train`);
    assert.equal(src.kind === 'indexed' ? src.length : 0, 4);
    assert.equal(src.openFailures.length, 1);
    const r = await inspectDataset(`arrow:${join(root, 'arrow')}/*.arrow?split=train`);
    assert.deepEqual([r.images, r.captions, r.failed], [2, 3, 3]);
  });
});

describe('VQAv2 and NLVR2', () => {
  before(async () => {
    const vq = join(root, 'vqa');
    await mkdir(join(vq, 'val2014'), { recursive: true });
    await copyFile(fx.paths.red_jpg as string, join(vq, 'val2014', 'COCO_val2014_000000000001.jpg'));
    await copyFile(fx.paths.blue_png as string, join(vq, 'val2014', 'COCO_val2014_000000000002.jpg'));
    await writeFile(join(vq, 'v2_OpenEnded_mscoco_val2014_questions.json'), JSON.stringify({
      task_type: 'Open-Ended', data_type: 'mscoco', data_subtype: 'val2014',
      questions: [
        { image_id: 1, question: 'What colour is it?', question_id: 10 },
        { image_id: 1, question: 'Is it red?', question_id: 11 },
        { image_id: 2, question: 'What colour?', question_id: 20 },
        { image_id: 3, question: 'Where is the image?', question_id: 30 },
      ],
    }));
    const answers = (xs: string[]): unknown[] => xs.map((answer, i) => ({ answer, answer_confidence: 'yes', answer_id: i + 1 }));
    await writeFile(join(vq, 'v2_mscoco_val2014_annotations.json'), JSON.stringify({
      annotations: [
        { question_id: 10, image_id: 1, multiple_choice_answer: 'red', answer_type: 'other', question_type: 'what color', answers: answers(['red', 'red', 'red', 'dark red']) },
        { question_id: 11, image_id: 1, multiple_choice_answer: 'yes', answer_type: 'yes/no', question_type: 'is', answers: answers(['yes', 'yes']) },
        { question_id: 20, image_id: 2, multiple_choice_answer: 'blue', answer_type: 'other', question_type: 'what color', answers: answers(['blue']) },
        { question_id: 30, image_id: 3, multiple_choice_answer: 'nowhere', answer_type: 'other', question_type: 'where', answers: answers(['nowhere']) },
      ],
    }));
    const nl = join(root, 'nlvr2');
    await mkdir(join(nl, 'data'), { recursive: true });
    await mkdir(join(nl, 'images', 'train', '7'), { recursive: true });
    await mkdir(join(nl, 'dev'), { recursive: true });
    await copyFile(fx.paths.red_jpg as string, join(nl, 'images', 'train', '7', 'train-1-0-img0.png'));
    await copyFile(fx.paths.blue_png as string, join(nl, 'images', 'train', '7', 'train-1-0-img1.png'));
    await copyFile(fx.paths.grey_png as string, join(nl, 'dev', 'dev-5-1-img0.png'));
    await writeFile(join(nl, 'data', 'train.json'), [
      JSON.stringify({ identifier: 'train-1-0-0', sentence: 'The left image is red.', label: 'True', directory: 7 }),
      JSON.stringify({ identifier: 'train-1-0-1', sentence: 'Both images are red.', label: 'False', directory: 7 }),
      JSON.stringify({ identifier: 'dev-5-1-0', sentence: 'One image is grey.', label: 'True' }),
    ].join('\n'));
  });

  it('VQA: one item per question, answers counted, image path from the template', async () => {
    const spec = `vqa:${join(root, 'vqa', 'v2_OpenEnded_mscoco_val2014_questions.json')}?annotations=${join(root, 'vqa', 'v2_mscoco_val2014_annotations.json')}`;
    const src = await openDataset(spec);
    assert.equal(src.textKind, 'question');
    const all = items(await entries(src));
    assert.equal(all.length, 4);
    assert.deepEqual(all[0]?.meta, {
      task: 'vqa', questionId: 10, imageId: 1, answers: [{ answer: 'red', count: 3 }, { answer: 'dark red', count: 1 }],
      multipleChoiceAnswer: 'red', answerType: 'other', questionType: 'what color',
    });
    assert.deepEqual(all[0]?.images, [{ kind: 'path', path: join(root, 'vqa', 'val2014', 'COCO_val2014_000000000001.jpg') }]);
    const r = await inspectDataset(spec);
    assert.deepEqual([r.images, r.captions, r.failed, r.items], [2, 3, 1, 3]);
  });

  it('VQA test questions need no annotations', async () => {
    const src = await openDataset(`vqa:${join(root, 'vqa', 'v2_OpenEnded_mscoco_val2014_questions.json')}`);
    const all = items(await entries(src));
    assert.equal(all.length, 4);
    assert.deepEqual((all[0]?.meta as { answers: unknown[] }).answers, []);
  });

  it('NLVR2: two images per item in the ViLT layout, boolean labels', async () => {
    const src = await openDataset(`nlvr2:${join(root, 'nlvr2', 'data', 'train.json')}`);
    assert.equal(src.imagesPerItem, 2);
    const all = items(await entries(src));
    assert.deepEqual(all.map((i) => (i.meta as { label: boolean }).label), [true, false, true]);
    assert.equal((all[0]?.images[1] as { path: string }).path, join(root, 'nlvr2', 'images', 'train', '7', 'train-1-0-img1.png'));
    assert.equal((all[2]?.images[0] as { path: string }).path, join(root, 'nlvr2', 'dev', 'dev-5-1-img0.png'));
    const r = await inspectDataset(`nlvr2:${join(root, 'nlvr2', 'data', 'train.json')}`);
    // Two train statements share both images; the dev pair lacks its right image.
    assert.deepEqual([r.images, r.items, r.failed], [3, 2, 1]);
  });
});

describe('shapes world adapter', () => {
  it('exposes captions, VQA and NLVR2 tasks with images rendered on demand', async () => {
    const cap = await openDataset('shapes:train?n=4&seed=3&size=32');
    assert.equal(cap.kind === 'indexed' ? cap.length : 0, 4);
    const first = items(await entries(cap))[0];
    assert.equal(first?.captions.length, 5);
    assert.equal(first?.images[0]?.kind, 'synthetic');
    const vqa = await openDataset('shapes:val?n=2&seed=3&task=vqa&questions=2');
    const q = items(await entries(vqa));
    assert.equal(q.length, 4);
    assert.equal((q[0]?.meta as { task: string }).task, 'vqa');
    const r = await inspectDataset('shapes:test?n=4&seed=3&size=32&task=nlvr2');
    assert.deepEqual([r.images, r.items, r.failed], [4, 2, 0]);
    await assert.rejects(openDataset('shapes:nosuchsplit'), /unknown split/);
    // statements= picks kinds of NLVR2 statement; the meta names each item's type
    const easy = items(await entries(await openDataset('shapes:test?n=8&seed=3&size=32&task=nlvr2&statements=exists/left,count')));
    assert.equal(easy.length, 4);
    assert.ok(easy.every((i) => /^(exists\/left|count\/.+)$/.test((i.meta as { statementType: string }).statementType)), easy.map((i) => (i.meta as { statementType: string }).statementType).join());
    await assert.rejects(openDataset('shapes:test?n=8&task=nlvr2&statements=easy'), (e: Error) => e instanceof DataError && /unknown kind of NLVR2 statement "easy"/.test(e.message));
    await assert.rejects(openDataset('shapes:test?n=8&statements=exists'), /statements= picks kinds of NLVR2 statement; it needs task=nlvr2/);
  });
});

describe('flm data inspect', () => {
  it('prints the JSON report and exits 1 when nothing can be read', async () => {
    await writeFile(join(root, 'bad.jsonl'), `${JSON.stringify({ image: 'img/missing.jpg', caption: 'x' })}\n${JSON.stringify({ image: 'img/corrupt_jpg.jpg', caption: 'y' })}\n`);
    const logged: string[] = [];
    const log = console.log;
    const err = console.error;
    console.log = (s: string) => logged.push(s);
    console.error = () => undefined;
    let code: number;
    let goodCode: number;
    try {
      code = await dataInspectCommand(`jsonl:${join(root, 'bad.jsonl')}`, { json: true });
      goodCode = await dataInspectCommand(`csv:${join(root, 'pairs.csv')}`, { json: true });
    } finally {
      console.log = log;
      console.error = err;
    }
    assert.equal(code, 1);
    assert.equal(goodCode, 0);
    const report = JSON.parse(logged[0] as string) as { images: number; captions: number; failed: number; failures: unknown[]; splits: object };
    assert.deepEqual([report.images, report.captions, report.failed, report.failures.length], [0, 0, 2, 2]);
    assert.ok('splits' in report);
  });
});
