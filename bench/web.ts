/**
 * In-browser captioning speed: exports a caption run as ONNX with the web demo into a temp folder,
 * serves it, opens it in headless Chromium (puppeteer-core; WASM backend, one thread: the page is not
 * cross-origin isolated), and captions shapes-world test images through the page's file input. Reports
 * the export size, the page's model load time, per-caption latency (greedy) and, beside it, libtorch's
 * (loadModel().caption on the same PNG files, 1 thread and the default threads); the captions must agree.
 * Prints one JSON object.
 *
 *   node dist/bench/web.js RUN [--images 8] [--chromium /usr/bin/chromium]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ShapesWorld } from '../src/data/shapes/index.js';
import { loadModel } from '../src/index.js';
import { setNumThreads, getNumThreads } from '../src/tensor/index.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { images: { type: 'string', default: '8' }, chromium: { type: 'string', default: process.env.FLM_CHROMIUM ?? '/usr/bin/chromium' } },
});
const run = positionals[0];
if (!run) throw new Error('usage: node dist/bench/web.js RUN [--images 8]');
const n = Number(args.images);
const BIN = fileURLToPath(new URL('../../bin/flm.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'flm-bench-web-'));
const site = join(root, 'site');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const du = (dir: string): number => readdirSync(dir, { recursive: true }).map(String).reduce((a, f) => {
  const s = statSync(join(dir, f));
  return a + (s.isFile() ? s.size : 0);
}, 0);

try {
  const r = spawnSync(process.execPath, [BIN, 'export', run, '--format', 'onnx', '--web-demo', '--out', site, '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const manifest = JSON.parse(readFileSync(join(site, 'manifest.json'), 'utf8')) as { image: { size: number }; graphs: Record<string, { bytes: number }> };
  const S = manifest.image.size;
  const world = new ShapesWorld({ seed: 1234, n, imageSize: S });
  const pngs: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(root, `img${i}.png`);
    await sharp(Buffer.from(world.image(i)), { raw: { width: S, height: S, channels: 3 } }).png().toFile(p);
    pngs.push(p);
  }

  // libtorch: one image per call, as the page does
  const model = await loadModel(run);
  const torch: Record<string, number[]> = {};
  const torchCaptions: string[] = [];
  const defaultThreads = getNumThreads();
  for (const threads of [...new Set([1, defaultThreads, 2])]) {
    setNumThreads(threads);
    await model.caption(pngs[0]!); // warm-up
    const ms: number[] = [];
    for (const p of pngs) {
      const t0 = performance.now();
      const c = await model.caption(p);
      ms.push(performance.now() - t0);
      if (threads === 1) torchCaptions.push(c.caption);
    }
    torch[`${threads} thread${threads > 1 ? 's' : ''}`] = ms;
  }
  model.dispose();

  // the page
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = normalize(join(site, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path.endsWith(sep) ? join(path, 'index.html') : path;
    if (!file.startsWith(site + sep) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({ executablePath: args.chromium, args: ['--no-sandbox', '--headless=new'] });
  type Demo = { flmDemo: { model: unknown; error: string | null; lastCaption: string | null; timings: { loadMs: number; captionMs: number[] } } };
  try {
    const page = await browser.newPage();
    const t0 = performance.now();
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => ((globalThis as unknown as Demo).flmDemo?.model ?? (globalThis as unknown as Demo).flmDemo?.error ?? null) !== null, { timeout: 120_000 });
    const pageReadyMs = performance.now() - t0;
    const input = (await page.$('#file'))!;
    const webCaptions: string[] = [];
    for (const p of [pngs[0]!, ...pngs]) { // the first is a warm-up
      // the same file twice fires no change event: clear the input first
      await input.evaluate((el) => { (el as unknown as { value: string }).value = ''; });
      await page.evaluate(() => { (globalThis as unknown as Demo).flmDemo.lastCaption = null; });
      await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(p);
      await page.waitForFunction(() => (globalThis as unknown as Demo).flmDemo.lastCaption !== null, { timeout: 120_000 });
      webCaptions.push((await page.evaluate(() => (globalThis as unknown as Demo).flmDemo.lastCaption))!);
    }
    const timings = await page.evaluate(() => (globalThis as unknown as Demo).flmDemo.timings);
    const web = timings.captionMs.slice(1);
    const same = webCaptions.slice(1).every((c, i) => c === torchCaptions[i]);
    console.log(JSON.stringify({
      run, images: n, size: S,
      export_mb: { graphs: Object.values(manifest.graphs).reduce((a, g) => a + g.bytes, 0) / 2 ** 20, folder_with_demo: du(site) / 2 ** 20 },
      browser: { page_ready_ms: Math.round(pageReadyMs), model_load_ms: Math.round(timings.loadMs), caption_ms_median: Math.round(median(web)), caption_ms: web.map(Math.round) },
      libtorch: Object.fromEntries(Object.entries(torch).map(([k, v]) => [k, { caption_ms_median: Math.round(median(v)), caption_ms: v.map(Math.round) }])),
      captions_identical: same, captions: torchCaptions.slice(0, 3),
    }, null, 1));
    if (!same) process.exitCode = 1;
  } finally {
    await browser.close();
    server.close();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
