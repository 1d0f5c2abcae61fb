/**
 * Data-loader throughput: images/s for decode + resize + centre crop + normalise (and RandAugment) at
 * 64, 224 and 288 px through the real DataLoader (worker threads, prefetch), on COCO-sized JPEGs
 * (640 x 480) generated into a temp dir; and, when the native addon is built, the rate at which a
 * pretraining step consumes images on this machine, so the two can be compared (the loader should
 * deliver at least 2x). Prints JSON lines.
 *
 *   node dist/bench/data.js [--images 96] [--batches 6] [--workers N] [--train-ips N] [--no-train]
 */
// Before anything touches libuv's pool: sharp runs there, and its default of 4 threads caps decoding.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, (await import('node:os')).availableParallelism()));

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { defaultWorkers } from '../src/data/decode.js';
import { DataLoader } from '../src/data/loader.js';
import { openDataset } from '../src/data/spec.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '96' },
    batches: { type: 'string', default: '6' },
    batch: { type: 'string', default: '32' },
    workers: { type: 'string' },
    'train-ips': { type: 'string' },
    'no-train': { type: 'boolean', default: false },
  },
});

const SIZES = [64, 224, 288];

/** A photo-like 640x480 JPEG: smooth gradients plus texture, ~60-90 KB at quality 90. */
async function makeJpeg(seed: number): Promise<Buffer> {
  const w = 640;
  const h = 480;
  const buf = Buffer.alloc(w * h * 3);
  let s = seed * 2654435761;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = (s >>> 24) - 128;
      const i = (y * w + x) * 3;
      buf[i] = Math.max(0, Math.min(255, ((x * 255) / w + n / 4 + seed * 17) & 255));
      buf[i + 1] = Math.max(0, Math.min(255, (y * 255) / h + n / 5));
      buf[i + 2] = Math.max(0, Math.min(255, 128 + 100 * Math.sin((x + y + seed) / 40) + n / 6));
    }
  }
  return sharp(buf, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

async function loaderRate(spec: string, size: number, augment: boolean, workers: number, batch: number, batches: number): Promise<number> {
  const src = await openDataset(spec);
  const loader = new DataLoader(src, { batchSize: batch, imageSize: size, workers, augment, pairs: 'first', prefetch: 2 });
  loader.start();
  let t0 = 0;
  let n = 0;
  let seen = 0;
  // One warm-up batch (worker start-up, first decodes), then `batches` timed ones, across epochs.
  outer: for (;;) {
    for await (const b of loader) {
      if (seen++ === 0) {
        t0 = performance.now();
        continue;
      }
      n += b.size;
      if (seen > batches) break outer;
    }
  }
  const ips = n / ((performance.now() - t0) / 1000);
  await loader.close();
  return ips;
}

/** Images/s a pretraining step (forward, backward, AdamW) consumes here, if the native addon loads. */
async function trainRate(): Promise<{ preset: string; image_size: number; batch: number; images_per_s: number } | { error: string }> {
  try {
    const { benchStep } = await import('../src/bench/step.js');
    const { PRESETS } = await import('../src/models/index.js');
    const r = benchStep({ preset: 'small', objective: 'flm', steps: 2, warmup: 1, threads: availableParallelism(), peer: false });
    return { preset: 'small', image_size: PRESETS.small.image_size, batch: r.batch, images_per_s: (r.batch * 1000) / r.ms_per_step_median };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e) };
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flm-bench-data-'));
  try {
    const count = Number(args.images);
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const path = join(dir, `${String(i).padStart(6, '0')}.jpg`);
      await writeFile(path, await makeJpeg(i));
      lines.push(JSON.stringify({ image: path, caption: `image number ${i}` }));
    }
    await writeFile(join(dir, 'pairs.jsonl'), lines.join('\n'));
    const spec = `jsonl:${join(dir, 'pairs.jsonl')}`;
    const workers = args.workers !== undefined ? Number(args.workers) : defaultWorkers();
    console.log(JSON.stringify({
      bench: 'data', cpus: availableParallelism(), cpu: cpus()[0]?.model ?? '?', workers, uv_threadpool: Number(process.env.UV_THREADPOOL_SIZE),
      source: '640x480 JPEG q90', batch: Number(args.batch),
    }));
    const rates: Record<string, number> = {};
    for (const size of SIZES) {
      for (const augment of [false, true]) {
        const ips = await loaderRate(spec, size, augment, workers, Number(args.batch), Number(args.batches));
        rates[`${size}:${augment}`] = ips;
        console.log(JSON.stringify({ case: 'loader', size, augment, workers, images_per_s: Math.round(ips * 10) / 10 }));
      }
    }
    const given = args['train-ips'] !== undefined ? Number(args['train-ips']) : undefined;
    const train = given !== undefined ? { preset: 'given', image_size: 0, batch: 0, images_per_s: given } : args['no-train'] ? { error: 'skipped (--no-train)' } : await trainRate();
    console.log(JSON.stringify({ case: 'train-step', ...train, ...('images_per_s' in train ? { images_per_s: Math.round(train.images_per_s * 1000) / 1000 } : {}) }));
    if ('images_per_s' in train) {
      for (const size of SIZES) {
        // A step at size S costs at least what the measured one does when S >= its image size, so the
        // measured rate bounds consumption from above at 224 and 288.
        const loader = rates[`${size}:true`] as number;
        const ratio = loader / train.images_per_s;
        console.log(JSON.stringify({
          case: 'keeps-up', size, loader_images_per_s: Math.round(loader * 10) / 10, train_images_per_s: Math.round(train.images_per_s * 10) / 10,
          ratio: Math.round(ratio * 100) / 100, ok: ratio >= 2,
        }));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
