// `flm data emoji`: the real-image set from the Fluent and Noto emoji artwork. A small set is written
// through the CLI and read back through the Karpathy reader and the image decoder, as a race reads it:
// the split holds concept pairs out of training, captions name what is drawn, the licences are recorded,
// the same seed writes the same set, and bad settings are clear errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../src/data/spec.js';
import { decodeRgb } from '../src/data/image.js';
import sharp from 'sharp';
import { EMOJI_STYLES, loadEmojiArtwork } from '../src/data/emoji/artwork.js';
import { chooseConcepts, writeEmojiDataset } from '../src/data/emoji/write.js';
import { conceptWords, emojiScene, isHeldOutPair } from '../src/data/emoji/scenes.js';
import { cli } from './cli-helpers.js';

interface EmojiRecord { filename: string; split: string; sentences: { raw: string }[]; emoji: { layout: string; background: string; objects: { concept: string; style: string; left: number; top: number; side: number }[] } }

describe('flm data emoji: a real-image set from npm emoji artwork', () => {
  let dir = '';
  let records: EmojiRecord[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flm-emoji-'));
    const r = await cli('data', 'emoji', '--out', join(dir, 'set'), '--train', '60', '--val', '10', '--test', '30', '--size', '32', '--concepts', '12', '--seed', '5');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /train 60, val 10, test 30.*12 concepts/);
    records = (JSON.parse(readFileSync(join(dir, 'set', 'dataset_emoji.json'), 'utf8')) as { images: EmojiRecord[] }).images;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('both art styles draw every concept, with the licences recorded', () => {
    const art = loadEmojiArtwork();
    assert.ok(art.categories.size > 1000, `${art.categories.size} concepts in both styles`);
    assert.deepEqual(art.credits.map((c) => c.license), ['MIT', 'Apache-2.0']);
    const md = readFileSync(join(dir, 'set', 'ARTWORK-LICENSES.md'), 'utf8');
    assert.match(md, /Fluent Emoji Flat.*Microsoft.*MIT/);
    assert.match(md, /Noto Emoji.*Google.*Apache-2\.0/);
  });

  it('reads back as Karpathy data: images decode at the set size, captions name what is drawn', async () => {
    const train = await openDataset(`karpathy:${join(dir, 'set', 'dataset_emoji.json')}?split=train`);
    const test = await openDataset(`karpathy:${join(dir, 'set', 'dataset_emoji.json')}?split=test`);
    assert.equal(train.kind === 'indexed' ? train.length : -1, 60);
    assert.equal(test.kind === 'indexed' ? test.length : -1, 30);
    const first = records[0]!;
    const img = await decodeRgb({ kind: 'path', path: join(dir, 'set', 'images', first.filename) });
    assert.deepEqual([img.width, img.height], [32, 32]);
    const styles = new Set<string>();
    for (const r of records) {
      for (const o of r.emoji.objects) {
        styles.add(o.style);
        assert.ok(r.sentences.some((s) => s.raw.toLowerCase().includes(conceptWords(o.concept))), `${r.filename}: ${o.concept} named`);
        assert.ok(o.left >= 0 && o.top >= 0 && o.left + o.side <= 32 && o.top + o.side <= 32, `${r.filename}: inside the canvas`);
      }
      assert.ok(r.sentences.some((s) => s.raw.includes(`${r.emoji.background} background`)));
    }
    assert.deepEqual([...styles].sort(), ['fluent', 'noto']);
  });

  it('every two-emoji test image shows a concept pair that training never shows', () => {
    const pairs = (split: string) => records.filter((r) => r.split === split && r.emoji.objects.length === 2).map((r) => r.emoji.objects.map((o) => o.concept).sort().join('+'));
    const train = new Set(pairs('train'));
    const test = [...pairs('test'), ...pairs('val')];
    assert.ok(test.length >= 10 && train.size >= 20, `${test.length} test pairs, ${train.size} training pairs`);
    for (const p of test) {
      assert.ok(!train.has(p), `${p} is in both splits`);
      const [a, b] = p.split('+') as [string, string];
      assert.ok(isHeldOutPair(5, a, b));
    }
    // a broken rule (every pair allowed everywhere) would put some test pair into a big training set
    const concepts = chooseConcepts(loadEmojiArtwork(), ['Animals & Nature', 'Food & Drink'], 12, 5);
    const bigTrain = new Set(Array.from({ length: 3000 }, (_, i) => emojiScene({ seed: 5, size: 32, concepts, singleShare: 0.3 }, 'train', i))
      .filter((s) => s.objects.length === 2).map((s) => s.objects.map((o) => o.concept).sort().join('+')));
    for (const p of test) assert.ok(!bigTrain.has(p), `${p} appears in a larger training set`);
    assert.ok(bigTrain.size > 40, `${bigTrain.size} distinct training pairs of 66`);
  });

  it('the same seed writes the same set', async () => {
    const again = join(dir, 'again');
    await writeEmojiDataset({ out: again, seed: 5, size: 32, images: { train: 60, val: 10, test: 30 }, categories: ['Animals & Nature', 'Food & Drink'], concepts: 12 });
    for (const f of ['dataset_emoji.json', 'emoji_manifest.json', 'ARTWORK-LICENSES.md']) assert.equal(readFileSync(join(again, f), 'utf8'), readFileSync(join(dir, 'set', f), 'utf8'), f);
    for (const r of records) assert.ok(readFileSync(join(again, 'images', r.filename)).equals(readFileSync(join(dir, 'set', 'images', r.filename))), r.filename);
  });

  it('bad settings are clear errors', async () => {
    const cat = await cli('data', 'emoji', '--out', join(dir, 'bad'), '--categories', 'Dinosaurs');
    assert.notEqual(cat.code, 0);
    assert.match(cat.err, /unknown category "Dinosaurs" \(one of .*Food & Drink/);
    const many = await cli('data', 'emoji', '--out', join(dir, 'bad'), '--concepts', '100000');
    assert.notEqual(many.code, 0);
    assert.match(many.err, /--concepts 100000 asked for/);
    const size = await cli('data', 'emoji', '--out', join(dir, 'bad'), '--size', '4');
    assert.notEqual(size.code, 0);
    assert.match(size.err, /--size must be an integer >= 16/);
    const huge = await cli('data', 'emoji', '--out', join(dir, 'bad'), '--size', '5000', '--train', '1');
    assert.notEqual(huge.code, 0);
    assert.match(huge.err, /--size must be an integer in \[16, 1024\]/);
    // 3 concepts = 3 pairs: for some seed the hash holds none out, and val/test could not be drawn
    const art = loadEmojiArtwork();
    const cats = ['Animals & Nature', 'Food & Drink'];
    const seed = Array.from({ length: 200 }, (_, k) => k).find((k) => {
      const c = chooseConcepts(art, cats, 3, k);
      return !isHeldOutPair(k, c[0]!, c[1]!) && !isHeldOutPair(k, c[0]!, c[2]!) && !isHeldOutPair(k, c[1]!, c[2]!);
    })!;
    await assert.rejects(writeEmojiDataset({ out: join(dir, 'few'), seed, size: 16, images: { train: 4, val: 0, test: 4 }, categories: cats, concepts: 3 }), /none of the 3 pairs of the 3 concepts is held out/);
  });

  it('every concept of the default categories rasterises in both styles', async () => {
    const art = loadEmojiArtwork();
    const concepts = chooseConcepts(art, ['Animals & Nature', 'Food & Drink'], 0, 1);
    assert.ok(concepts.length > 250, `${concepts.length} concepts`);
    for (const style of EMOJI_STYLES) {
      for (const c of concepts) {
        const { width, height, channels } = await sharp(Buffer.from(art.svg(style, c, 16))).raw().toBuffer({ resolveWithObject: true }).then((r) => r.info);
        assert.deepEqual([width, height, channels], [16, 16, 4], `${style} ${c}`);
      }
    }
  });
});
