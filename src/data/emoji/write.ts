/**
 * `flm data emoji`: writes the emoji image-text set (scenes.ts) as Karpathy JSON + JPEG images, with the
 * artwork's licences, so that it trains and tests through the same real-file pipeline as COCO:
 *
 *   DIR/dataset_emoji.json     karpathy:DIR/dataset_emoji.json?split=train|val|test
 *   DIR/images/*.jpg
 *   DIR/ARTWORK-LICENSES.md    where each art style comes from and its licence
 *   DIR/emoji_manifest.json    the generator's settings and the concept list
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Prng } from '../rng.js';
import { DataError } from '../types.js';
import { loadEmojiArtwork, type EmojiArtwork } from './artwork.js';
import { EMOJI_SPLITS, emojiScene, HELD_OUT_PAIR_SHARE, isHeldOutPair, type EmojiScene, type EmojiSceneConfig, type EmojiSplit } from './scenes.js';

export { DEFAULT_EMOJI_CATEGORIES } from './categories.js';

export interface WriteEmojiOptions {
  out: string;
  seed: number;
  /** image side in pixels */
  size: number;
  images: Record<EmojiSplit, number>;
  categories: readonly string[];
  /** how many concepts to draw from the categories (0: all of them) */
  concepts: number;
  /** share of single-emoji scenes (default 0.3) */
  singleShare?: number;
  /** JPEG quality (default 92) */
  quality?: number;
}

export interface WriteEmojiSummary { out: string; images: Record<EmojiSplit, number>; sentences: number; concepts: number; seconds: number }

/** The concepts of the set: those of the categories, or a seeded draw of `n` of them, sorted. */
export function chooseConcepts(art: EmojiArtwork, categories: readonly string[], n: number, seed: number): string[] {
  const known = new Set(art.categories.values());
  for (const c of categories) if (!known.has(c)) throw new DataError(`emoji: unknown category "${c}" (one of ${[...known].sort().join(', ')})`);
  const pool = [...art.categories].filter(([, c]) => categories.includes(c)).map(([k]) => k).sort();
  if (n === 0) return pool;
  if (!Number.isInteger(n) || n < 3) throw new DataError(`emoji: --concepts must be 0 (all) or an integer >= 3, got ${n}`);
  if (n > pool.length) throw new DataError(`emoji: --concepts ${n} asked for, the categories have ${pool.length}`);
  return Prng.fromKeys('emoji-concepts', seed).shuffle(pool.slice()).slice(0, n).sort();
}

function rawSentence(caption: string): string {
  return `${caption.charAt(0).toUpperCase()}${caption.slice(1)}.`;
}

function licensesMarkdown(art: EmojiArtwork): string {
  const rows = art.credits.map((c) => `| ${c.style} | ${c.name} | ${c.author} (${c.authorUrl}) | ${c.license} (${c.licenseUrl}) | ${c.package}@${c.version} |`);
  return [
    '# Artwork licences',
    '',
    'The images of this set are composed by `flm data emoji` from two emoji sets, as their npm packages ship them.',
    'The compositions and captions are generated; the drawings remain their authors\' work under these licences:',
    '',
    '| style | set | author | licence | npm package |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Largest image side: every (style, concept, side) raster is cached while a set is written. */
export const MAX_SIZE = 1024;

/** Both sides of the split need concept pairs: with a handful of concepts the hash may hold out none (or all). */
function checkPairs(c: EmojiSceneConfig, images: Record<EmojiSplit, number>): void {
  if (c.singleShare >= 1) return;
  const { concepts } = c;
  let heldOut = 0;
  let pairs = 0;
  for (let i = 0; i < concepts.length; i++) {
    for (let j = i + 1; j < concepts.length; j++) {
      pairs++;
      if (isHeldOutPair(c.seed, concepts[i]!, concepts[j]!)) heldOut++;
    }
  }
  const fix = 'use more --concepts or another --seed';
  if (images.train > 0 && heldOut === pairs) throw new DataError(`emoji: all ${pairs} pairs of the ${concepts.length} concepts are held out for val/test; ${fix}`);
  if (images.val + images.test > 0 && heldOut === 0) throw new DataError(`emoji: none of the ${pairs} pairs of the ${concepts.length} concepts is held out for val/test; ${fix}`);
}

export async function writeEmojiDataset(o: WriteEmojiOptions): Promise<WriteEmojiSummary> {
  const t0 = performance.now();
  if (!Number.isInteger(o.size) || o.size < 16 || o.size > MAX_SIZE) throw new DataError(`emoji: --size must be an integer in [16, ${MAX_SIZE}], got ${o.size}`);
  for (const s of EMOJI_SPLITS) {
    const n = o.images[s];
    if (!Number.isInteger(n) || n < 0) throw new DataError(`emoji: ${s} images must be an integer >= 0, got ${n}`);
  }
  const art = loadEmojiArtwork();
  const concepts = chooseConcepts(art, o.categories, o.concepts, o.seed);
  const cfg: EmojiSceneConfig = { seed: o.seed, size: o.size, concepts, singleShare: o.singleShare ?? 0.3 };
  checkPairs(cfg, o.images);
  await mkdir(join(o.out, 'images'), { recursive: true });

  const rasters = new Map<string, Promise<Buffer>>();
  const raster = (scene: EmojiScene['objects'][number]): Promise<Buffer> => {
    const key = `${scene.style}/${scene.concept}/${scene.side}`;
    let r = rasters.get(key);
    if (!r) rasters.set(key, (r = sharp(Buffer.from(art.svg(scene.style, scene.concept, scene.side))).png().toBuffer()));
    return r;
  };
  const render = async (scene: EmojiScene, file: string): Promise<void> => {
    const [r, g, b] = scene.background.rgb;
    const layers = await Promise.all(scene.objects.map(async (obj) => ({ input: await raster(obj), left: obj.left, top: obj.top })));
    await sharp({ create: { width: o.size, height: o.size, channels: 3, background: { r, g, b } } })
      .composite(layers).jpeg({ quality: o.quality ?? 92 }).toFile(file);
  };

  const images: unknown[] = [];
  let imgid = 0;
  let sentid = 0;
  const inFlight: Promise<void>[] = [];
  try {
    for (const split of EMOJI_SPLITS) {
      for (let i = 0; i < o.images[split]; i++) {
        const scene = emojiScene(cfg, split, i);
        const filename = `${scene.id}.jpg`;
        inFlight.push(render(scene, join(o.out, 'images', filename)));
        if (inFlight.length >= 16) await Promise.all(inFlight.splice(0));
        const sentences = scene.captions.map((c) => ({ raw: rawSentence(c), tokens: c.split(' '), imgid, sentid: sentid++ }));
        images.push({
          filepath: 'images', filename, split, imgid, cocoid: imgid, sentids: sentences.map((s) => s.sentid), sentences,
          emoji: { layout: scene.layout, background: scene.background.name, objects: scene.objects },
        });
        imgid++;
      }
    }
    await Promise.all(inFlight.splice(0));
  } finally {
    // on an error, let the renders already started settle (no unhandled rejection, no write after the error is reported)
    await Promise.allSettled(inFlight);
  }
  await writeFile(join(o.out, 'dataset_emoji.json'), JSON.stringify({ dataset: 'emoji', images }));
  await writeFile(join(o.out, 'ARTWORK-LICENSES.md'), licensesMarkdown(art));
  await writeFile(join(o.out, 'emoji_manifest.json'), JSON.stringify({
    generator: 'flm data emoji', seed: o.seed, size: o.size, images: o.images, categories: o.categories, singleShare: cfg.singleShare,
    heldOutPairShare: HELD_OUT_PAIR_SHARE, artwork: art.credits, concepts,
  }, null, 1));
  return { out: o.out, images: o.images, sentences: sentid, concepts: concepts.length, seconds: (performance.now() - t0) / 1000 };
}

/** Entry point for `flm data emoji`. */
export async function emojiCommand(o: WriteEmojiOptions): Promise<void> {
  const s = await writeEmojiDataset(o);
  const per = EMOJI_SPLITS.map((k) => `${k} ${s.images[k]}`).join(', ');
  console.log(`emoji set written to ${s.out} in ${s.seconds.toFixed(1)} s: images (${per}), ${s.sentences} captions, ${s.concepts} concepts; ` +
    `train with karpathy:${join(s.out, 'dataset_emoji.json')}?split=train`);
}
