/**
 * Small fixture datasets for the data-layer tests, generated into a temp dir: images in every format
 * the pipeline must handle (and broken ones), and one file per dataset format.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Binary, Field, List, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import sharp, { type Sharp } from 'sharp';
import tar from 'tar-stream';

export type Rgb3 = [number, number, number];

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `flm-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function solid(width: number, height: number, rgb: Rgb3): Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

/** A noisy image, so that JPEG truncation really cuts scan data. */
export function noisy(width: number, height: number): Sharp {
  const buf = Buffer.alloc(width * height * 3);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919 + (i >> 5) * 31) % 256;
  return sharp(buf, { raw: { width, height, channels: 3 } });
}

export interface ImageFixtures {
  dir: string;
  /** name -> absolute path; `missing` does not exist. */
  paths: Record<string, string>;
  /** name -> bytes (for wds and arrow). */
  bytes: Record<string, Buffer>;
}

export const GOOD_IMAGES = ['red_jpg', 'blue_png', 'green_webp', 'palette_png', 'grey_png', 'deep16_png', 'rgba_png'] as const;
export const BAD_IMAGES = ['truncated_jpg', 'corrupt_jpg', 'missing_jpg'] as const;

export async function makeImages(dir: string): Promise<ImageFixtures> {
  await mkdir(dir, { recursive: true });
  const bytes: Record<string, Buffer> = {
    red_jpg: await solid(48, 32, [255, 0, 0]).jpeg({ quality: 95 }).toBuffer(),
    blue_png: await solid(32, 48, [0, 0, 255]).png().toBuffer(),
    green_webp: await solid(40, 40, [0, 255, 0]).webp({ lossless: true }).toBuffer(),
    palette_png: await solid(30, 20, [10, 200, 30]).png({ palette: true, colours: 4 }).toBuffer(),
    grey_png: await solid(20, 20, [90, 90, 90]).toColourspace('b-w').png().toBuffer(),
    deep16_png: await solid(20, 30, [200, 100, 50]).toColourspace('rgb16').png().toBuffer(),
    rgba_png: await sharp({ create: { width: 24, height: 24, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer(),
  };
  const big = await noisy(160, 120).jpeg().toBuffer();
  bytes.truncated_jpg = big.subarray(0, Math.floor(big.length / 2));
  bytes.corrupt_jpg = Buffer.from('this is not an image at all, just text pretending to be a jpeg');
  const ext = (n: string): string => n.slice(n.lastIndexOf('_') + 1);
  const paths: Record<string, string> = {};
  for (const [name, b] of Object.entries(bytes)) {
    paths[name] = join(dir, `${name}.${ext(name)}`);
    await writeFile(paths[name] as string, b);
  }
  paths.missing_jpg = join(dir, 'missing.jpg');
  return { dir, paths, bytes };
}

/** A tar shard of webdataset samples; `truncate` cuts the archive in the middle of its last member. */
export async function writeTar(path: string, members: Array<{ name: string; data: Buffer | string }>, truncate = false): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const m of members) {
    await new Promise<void>((resolve, reject) => pack.entry({ name: m.name }, typeof m.data === 'string' ? Buffer.from(m.data) : m.data, (e) => (e ? reject(e) : resolve())));
  }
  pack.finalize();
  await done;
  let all = Buffer.concat(chunks);
  if (truncate) {
    const last = members[members.length - 1];
    const lastSize = last === undefined ? 0 : Buffer.byteLength(last.data);
    // Drop the two end-of-archive blocks and half of the last member's data.
    all = all.subarray(0, all.length - 1024 - Math.ceil(lastSize / 512) * 512 + Math.floor(lastSize / 2));
  }
  await writeFile(path, all);
}

export interface ArrowRow {
  image: Uint8Array | null;
  caption: string[];
  image_id: string;
  split: string;
}

/** A ViLT-style Arrow IPC file with one record batch per group of rows. */
export async function writeArrow(path: string, batches: ArrowRow[][]): Promise<void> {
  const tables = batches.map((rows) => new Table({
    image: vectorFromArray(rows.map((r) => r.image), new Binary()),
    caption: vectorFromArray(rows.map((r) => r.caption), new List(new Field('item', new Utf8(), true))),
    image_id: vectorFromArray(rows.map((r) => r.image_id), new Utf8()),
    split: vectorFromArray(rows.map((r) => r.split), new Utf8()),
  }));
  const table = tables.slice(1).reduce((a, t) => a.concat(t), tables[0] as Table);
  await writeFile(path, tableToIPC(table, 'file'));
}
