import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataLoader, type Batch, type LoaderOptions } from '../src/data/loader.js';
import { epochOrder, shardOrder } from '../src/data/order.js';
import { openDataset } from '../src/data/spec.js';
import { TextTokenizer } from '../src/data/tokenizer.js';
import { trainTokenizer } from '../src/data/tokenizer-train.js';
import { DataError, type DatasetSource } from '../src/data/types.js';
import { makeImages, tempDir, writeArrow, writeTar } from './data-fixtures.js';

const SHAPES = 'shapes:train?n=10&seed=5&size=16&captions=3';

async function collect(loader: DataLoader, maxBatches = Infinity): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader) {
    out.push(b);
    if (out.length >= maxBatches) break;
  }
  return out;
}

const ids = (bs: Batch[]): string[] => bs.flatMap((b) => b.keys.map((k, i) => `${k}|${b.texts[i]}`));

let tokenizer: TextTokenizer;
let shapes: DatasetSource;
let dir: string;
let cleanup: () => Promise<void>;
const quiet = (): void => undefined;

before(async () => {
  shapes = await openDataset(SHAPES);
  const texts: string[] = [];
  for await (const e of shapes) if (e.ok) texts.push(...e.item.captions);
  tokenizer = new TextTokenizer(await trainTokenizer(texts, { kind: 'wordpiece', vocabSize: 150 }), { maxLength: 24 });
  const t = await tempDir('loader');
  dir = t.dir;
  cleanup = t.cleanup;
});
after(() => cleanup());

function loader(opts: Partial<LoaderOptions> = {}, src: DatasetSource = shapes): DataLoader {
  return new DataLoader(src, { batchSize: 4, imageSize: 16, tokenizer, workers: 0, warn: quiet, ...opts });
}

describe('batches', () => {
  it('are plain typed arrays with shapes: images [B,3,S,S], text [B,L]', async () => {
    const l = loader();
    const [b] = await collect(l, 1);
    assert.ok(b !== undefined);
    assert.deepEqual(b.imageShape, [4, 3, 16, 16]);
    assert.equal(b.images.length, 1);
    assert.equal(b.images[0]?.length, 4 * 3 * 16 * 16);
    assert.deepEqual(b.text?.shape, [4, 24]);
    assert.equal(b.text?.ids.length, 4 * 24);
    assert.equal(b.text?.ids[0], tokenizer.specialIds.cls);
    assert.ok(b.texts.every((t) => t.endsWith('.')), 'captions get the trailing "."');
    await l.close();
  });

  it('visit every (image, caption) pair once per epoch, in a new order each epoch', async () => {
    const l = loader();
    assert.equal(l.epochSize, 30);
    assert.equal(l.batchesPerEpoch, 8);
    const e0 = await collect(l);
    const e1 = await collect(l);
    assert.equal(e0.length, 8);
    assert.equal(e0[7]?.size, 2, 'the short last batch is kept');
    assert.equal(new Set(ids(e0)).size, 30);
    assert.deepEqual(new Set(ids(e0)), new Set(ids(e1)));
    assert.notDeepEqual(ids(e0), ids(e1));
    assert.equal(e1[0]?.epoch, 1);
    assert.deepEqual(l.state(), { epoch: 2, cursor: 0, batch: 0, seed: 2022, rank: 0, worldSize: 1 });
    const one = loader({ pairs: 'first', dropLast: true });
    assert.equal((await collect(one)).length, 2);
  });

  it('are deterministic for a seed, in-process and in worker threads, with augmentation', async () => {
    const a = await collect(loader({ seed: 1, augment: true }), 3);
    const b = await collect(loader({ seed: 1, augment: true, workers: 2 }), 3);
    const c = await collect(loader({ seed: 2 }), 3);
    assert.deepEqual(ids(a), ids(b));
    a.forEach((x, i) => assert.deepEqual(x.images[0], b[i]?.images[0]));
    assert.notDeepEqual(ids(a), ids(c));
  });

  it('carry two image slots for NLVR2', async () => {
    const src = await openDataset('shapes:val?n=8&seed=1&size=16&task=nlvr2');
    const [b] = await collect(loader({ batchSize: 2 }, src), 1);
    assert.equal(b?.images.length, 2);
    assert.notDeepEqual(b?.images[0], b?.images[1]);
    assert.equal(typeof (b?.meta[0] as { label: boolean }).label, 'boolean');
  });
});

describe('sharding by rank', () => {
  it('gives disjoint shards that cover the epoch (drop) or equal-length padded shards (pad)', async () => {
    const world = 3;
    const seen: string[][] = [];
    for (let rank = 0; rank < world; rank++) {
      const l = loader({ rank, worldSize: world, shardMode: 'drop' });
      assert.equal(l.epochSize, 10);
      seen.push(ids(await collect(l)));
    }
    const all = seen.flat();
    assert.equal(all.length, 30);
    assert.equal(new Set(all).size, 30, 'no sample on two ranks');
    const order = epochOrder(10, 0, 1, true);
    const padded = [0, 1, 2].map((r) => Array.from(shardOrder(order, r, 3, 'pad')));
    assert.deepEqual(padded.map((p) => p.length), [4, 4, 4]);
    assert.deepEqual(new Set(padded.flat()).size, 10);
    assert.throws(() => loader({ rank: 3, worldSize: 3 }), DataError);
  });
});

describe('resume', () => {
  it('restoring a saved position gives exactly the batches the run would have seen', async () => {
    const full = loader({ augment: true });
    const reference = [...(await collect(full)), ...(await collect(full))];
    const first = loader({ augment: true });
    const head = await collect(first, 3);
    const saved = JSON.parse(JSON.stringify(head[2]?.state)) as ReturnType<DataLoader['state']>;
    assert.deepEqual(saved, first.state());
    const resumed = loader({ augment: true });
    resumed.restore(saved);
    const tail = [...(await collect(resumed)), ...(await collect(resumed))];
    const rest = reference.slice(3);
    assert.deepEqual(ids(tail), ids(rest));
    tail.forEach((b, i) => {
      assert.deepEqual(b.images[0], rest[i]?.images[0]);
      assert.equal(b.index, rest[i]?.index);
    });
    assert.throws(() => resumed.restore({ ...saved, seed: 1 }), DataError);
  });
});

describe('unreadable data', () => {
  let good: string;
  let bad: string;
  before(async () => {
    const fx = await makeImages(join(dir, 'img'));
    const rows = [
      { image: fx.paths.red_jpg, caption: 'red' }, { image: fx.paths.truncated_jpg, caption: 'cut' },
      { image: fx.paths.blue_png, caption: 'blue' }, { image: fx.paths.missing_jpg, caption: 'gone' },
      { image: fx.paths.green_webp, caption: 'green' }, { image: fx.paths.corrupt_jpg, caption: 'junk' },
      { image: fx.paths.grey_png, caption: 'grey' },
    ];
    good = join(dir, 'mixed.jsonl');
    await writeFile(good, rows.map((r) => JSON.stringify(r)).join('\n'));
    bad = join(dir, 'bad.jsonl');
    await writeFile(bad, rows.filter((_, i) => i % 2 === 1).map((r) => JSON.stringify(r)).join('\n'));
    await writeArrow(join(dir, 'rows.arrow'), [
      [{ image: fx.bytes.red_jpg as Buffer, caption: ['red', 'red'], image_id: '1', split: 'train' }, { image: fx.bytes.blue_png as Buffer, caption: ['blue'], image_id: '2', split: 'train' }],
      [{ image: fx.bytes.palette_png as Buffer, caption: ['palette'], image_id: '3', split: 'train' }, { image: fx.bytes.corrupt_jpg as Buffer, caption: ['junk'], image_id: '4', split: 'train' }],
    ]);
    await mkdir(join(dir, 'wds'));
    for (let s = 0; s < 2; s++) {
      await writeTar(join(dir, 'wds', `${s}.tar`), Array.from({ length: 5 }, (_, i) => [
        { name: `${s}${i}.png`, data: i === 2 ? (fx.bytes.corrupt_jpg as Buffer) : (fx.bytes.blue_png as Buffer) },
        { name: `${s}${i}.txt`, data: `sample ${s} ${i}` },
      ]).flat());
    }
  });

  it('skips and counts corrupt, truncated and missing images, with the path in a warning', async () => {
    const warnings: string[] = [];
    const l = loader({ batchSize: 2, warn: (m) => warnings.push(m) }, await openDataset(`jsonl:${good}`));
    const bs = await collect(l);
    assert.deepEqual(bs.map((b) => b.size), [2, 2]);
    assert.equal(l.stats.skipped, 3);
    assert.equal(bs.reduce((s, b) => s + b.skipped, 0), 3);
    assert.equal(warnings.length, 3);
    assert.ok(warnings.some((w) => w.includes('missing.jpg')));
  });

  it('sends Arrow image bytes to worker threads with the same result as in-process decoding', async () => {
    const spec = `arrow:${join(dir, 'rows.arrow')}`;
    const inline = await collect(loader({ batchSize: 2 }, await openDataset(spec)));
    const threaded = loader({ batchSize: 2, workers: 2 }, await openDataset(spec));
    const viaWorkers = await collect(threaded);
    await threaded.close();
    // 5 captions: one duplicate caption is dropped and one image is corrupt.
    assert.deepEqual(ids(viaWorkers), ids(inline));
    assert.equal(ids(inline).length, 3);
    viaWorkers.forEach((b, i) => assert.deepEqual(b.images[0], inline[i]?.images[0]));
    assert.equal(threaded.stats.duplicates, 1);
    assert.equal(threaded.stats.skipped, 1);
  });

  it('stops with a clear error when nothing can be read', async () => {
    const l = loader({ batchSize: 2 }, await openDataset(`jsonl:${bad}`));
    await assert.rejects(collect(l), (e: Error) => e instanceof DataError && /no sample could be loaded/.test(e.message));
    const early = loader({ batchSize: 2, failLimit: 2 }, await openDataset(`jsonl:${bad}`));
    await assert.rejects(collect(early), /first 2 samples all failed/);
  });

  it('streams webdataset shards with a seeded shuffle buffer, sharding and exact resume', async () => {
    const spec = `wds:${join(dir, 'wds')}/{0..1}.tar`;
    const l = loader({ batchSize: 3, shuffleBuffer: 4 }, await openDataset(spec));
    const epoch = await collect(l);
    assert.equal(l.stats.skipped, 2);
    assert.equal(new Set(ids(epoch)).size, 8);
    const again = await collect(loader({ batchSize: 3, shuffleBuffer: 4 }, await openDataset(spec)));
    assert.deepEqual(ids(again), ids(epoch));
    const head = loader({ batchSize: 3, shuffleBuffer: 4 }, await openDataset(spec));
    await collect(head, 1);
    const resumed = loader({ batchSize: 3, shuffleBuffer: 4 }, await openDataset(spec));
    resumed.restore(head.state());
    assert.deepEqual(ids(await collect(resumed)), ids(epoch.slice(1)));
    const r0 = ids(await collect(loader({ batchSize: 3, rank: 0, worldSize: 2 }, await openDataset(spec))));
    const r1 = ids(await collect(loader({ batchSize: 3, rank: 1, worldSize: 2 }, await openDataset(spec))));
    assert.deepEqual([r0.length, r1.length], [4, 4]);
    assert.equal(new Set([...r0, ...r1]).size, 8);
  });
});

describe('caption length', () => {
  it('a caption of millions of characters is cut at read time (counted, warned once), so it never scales memory', async () => {
    const fx = await makeImages(join(dir, 'img-long'));
    const file = join(dir, 'long.jsonl');
    const huge = 'a red square '.repeat(400_000);
    await writeFile(file, [{ image: fx.paths.red_jpg, caption: huge }, { image: fx.paths.blue_png, caption: 'blue' }].map((r) => JSON.stringify(r)).join('\n'));
    const warnings: string[] = [];
    const l = loader({ batchSize: 2, warn: (m) => warnings.push(m) }, await openDataset(file));
    const [b] = await collect(l, 1);
    await l.close();
    assert.ok(b !== undefined);
    assert.ok(b.texts.every((t) => t.length <= 24 * 64), `texts of ${b.texts.map((t) => t.length).join(', ')} characters`);
    assert.equal(l.stats.truncated, 1);
    assert.equal(warnings.filter((w) => /cut from \d+ to 1536 characters/.test(w)).length, 1);
    assert.equal(b.text?.lengths[b.texts.findIndex((t) => t.startsWith('a red'))], 24, 'the cut caption still fills the text length');
  });
});

