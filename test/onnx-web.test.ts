// `flm export RUN --format onnx --web-demo` in a real browser: the exported folder, served by a plain
// static file server, opens in headless Chromium (Debian's, driven by puppeteer-core), loads the model
// with onnxruntime-web (WASM), captions shapes-world PNGs dropped into its file input, and each caption
// equals the one libtorch gives (loadModel on the run folder). Also: the rank section, no console
// errors or failed requests, the load time and per-caption latency the page measures (printed), a
// screenshot in the temp folder; and a VQA export answers a typed question as libtorch does. Without
// Chromium (FLM_CHROMIUM or /usr/bin/chromium) the browser tests are skipped, saying so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Browser, Page } from 'puppeteer-core';
import { manualSeed } from '../src/tensor/index.js';
import { ShapesWorld } from '../src/data/shapes/index.js';
import { CAPTION_DEFAULTS, finetuneCaption } from '../src/tasks/caption/recipe.js';
import { finetune, finetuneDefaults } from '../src/tasks/finetune.js';
import { loadModel } from '../src/index.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'flm.js');
const CHROMIUM = process.env.FLM_CHROMIUM ?? '/usr/bin/chromium';
const S = 32;
const root = mkdtempSync(join(tmpdir(), 'flm-onnx-web-'));
const runDir = join(root, 'runs', 'cap');
const site = join(root, 'models', 'cap-onnx');
const vqaRun = join(root, 'runs', 'vqa');
const vqaSite = join(root, 'models', 'vqa-onnx');
const world = new ShapesWorld({ seed: 21, n: 4, imageSize: S });
const pngs = [0, 1, 2].map((i) => join(root, `scene${i}.png`));
const expected: string[] = [];
const QUESTION = 'what colour is the circle?';
let expectedAnswer = '';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.md': 'text/markdown',
};

/** A static file server over `dir` (what `python3 -m http.server` does), on a free port of 127.0.0.1. */
function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path.endsWith(sep) ? join(path, 'index.html') : path;
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` })));
}

describe('the ONNX web demo in headless Chromium', () => {
  const chromium = existsSync(CHROMIUM);
  let browser: Browser | null = null;
  let page: Page;
  let http: { server: Server; url: string };
  const problems: string[] = [];

  before(async () => {
    manualSeed(9);
    await finetuneCaption({
      // at lr 3e-3 the fast recipe's init collapses to one word here (README, Recipes)
      ...CAPTION_DEFAULTS, recipe: 'official', preset: 'tiny', workers: 0, logEvery: 1000, saveEvery: 1000, batchSize: 16, microBatch: 16, lr: 3e-3, warmup: 0.05,
      data: 'shapes:train?n=128&seed=3&size=32', out: runDir, steps: 100, valData: null,
    }, { quiet: true });
    const r = spawnSync(process.execPath, [BIN, 'export', runDir, '--format', 'onnx', '--web-demo', '--out', site, '--json'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const files = (JSON.parse(r.stdout) as { files: string[] }).files;
    for (const f of ['index.html', 'demo.js', 'manifest.json', 'image_encoder.onnx', 'caption_step.onnx', 'lib/web/index.js', 'vendor/ort.wasm.min.mjs', 'vendor/ort-wasm-simd-threaded.wasm', 'vendor/tokenizers.min.mjs']) {
      assert.ok(files.includes(f) && existsSync(join(site, f)), `${f} written`);
    }
    await finetune({ ...finetuneDefaults('vqa'), preset: 'tiny', workers: 0, logEvery: 1000, saveEvery: 1000, batchSize: 8, data: 'shapes:train?n=64&seed=3&size=32&task=vqa', valData: null, out: vqaRun, steps: 3, lr: 1e-3 }, { quiet: true });
    const v = spawnSync(process.execPath, [BIN, 'export', vqaRun, '--format', 'onnx', '--web-demo', '--out', vqaSite], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(v.status, 0, v.stderr);
    const vqa = await loadModel(vqaRun);
    const model = await loadModel(runDir);
    try {
      for (const [k, p] of pngs.entries()) {
        await sharp(Buffer.from(world.image(k)), { raw: { width: S, height: S, channels: 3 } }).png().toFile(p);
        expected.push((await model.caption(p)).caption);
      }
      expectedAnswer = (await vqa.answer(pngs[0]!, QUESTION)).answer;
    } finally {
      model.dispose();
      vqa.dispose();
    }
    http = await serve(join(root, 'models'));
    if (!chromium) return;
    const puppeteer = (await import('puppeteer-core')).default;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
    page.on('requestfailed', (q) => problems.push(`request failed: ${q.url()}`));
    page.on('response', (q) => { if (q.status() >= 400) problems.push(`HTTP ${q.status()}: ${q.url()}`); });
  });

  after(async () => {
    await browser?.close();
    http?.server.close();
    if (!process.env.FLM_KEEP_TEMP) rmSync(root, { recursive: true, force: true });
  });

  it('the page loads the model and captions dropped shapes-world images as libtorch does', async (t) => {
    if (!chromium) return t.skip(`no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set FLM_CHROMIUM`);
    await page.goto(`${http.url}cap-onnx/`, { waitUntil: 'load' });
    await page.waitForFunction(() => {
      const d = (globalThis as unknown as { flmDemo?: { model: unknown; error: string | null } }).flmDemo;
      return d !== undefined && (d.model !== null || d.error !== null);
    }, { timeout: 60_000 });
    const status = await page.$eval('#status', (el) => el.textContent ?? '');
    assert.match(status, /A caption model \(step 100\), 32 px images, loaded in \d+ ms/, `${status} ${problems.join('; ')}`);
    const input = await page.$('#file');
    for (const [k, p] of pngs.entries()) {
      await page.evaluate(() => { (globalThis as unknown as { flmDemo: { lastCaption: string | null } }).flmDemo.lastCaption = null; });
      await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(p);
      await page.waitForFunction(() => (globalThis as unknown as { flmDemo: { lastCaption: string | null; error: string | null } }).flmDemo.lastCaption !== null
        || (globalThis as unknown as { flmDemo: { error: string | null } }).flmDemo.error !== null, { timeout: 30_000 });
      const shown = await page.$eval('#caption', (el) => el.textContent ?? '');
      assert.equal(shown, expected[k], `image ${k}: the browser's caption is libtorch's (${problems.join('; ')})`);
    }
    assert.ok(expected.some((c) => c.split(' ').length >= 2), `captions of several words: ${expected.join(' | ')}`);
    const timings = await page.evaluate(() => (globalThis as unknown as { flmDemo: { timings: { loadMs: number; captionMs: number[] } } }).flmDemo.timings);
    const exportBytes = ['image_encoder.onnx', 'caption_step.onnx'].reduce((a, f) => a + statSync(join(site, f)).size, 0);
    console.log(`web demo (tiny model, ${(exportBytes / 1024).toFixed(0)} KiB of graphs): load ${timings.loadMs.toFixed(0)} ms, captions ${timings.captionMs.map((x) => x.toFixed(0)).join(', ')} ms`);
    assert.equal(timings.captionMs.length, pngs.length);
    assert.deepEqual(problems, [], 'no console errors or failed requests');
    await page.screenshot({ path: join(root, 'web-demo.png'), fullPage: true });
  });

  it('the rank section ranks typed captions with the caption likelihood', async (t) => {
    if (!chromium) return t.skip(`no Chromium at ${CHROMIUM}`);
    assert.equal(await page.$eval('#rank-section', (el) => (el as unknown as { hidden: boolean }).hidden), false);
    await page.type('#captions', `${expected[0]}\ntwo blue squares\na big red circle`);
    await page.click('#rank');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('#ranked tr').length === 3, { timeout: 20_000 });
    const rows = await page.$$eval('#ranked tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    const scores = rows.map((r) => Number(r[0]));
    assert.ok(scores.every((s) => Number.isFinite(s) && s < 0), `log-likelihoods: ${scores}`);
    assert.deepEqual([...scores].sort((a, b) => b - a), scores, 'best first');
    assert.equal(await page.$eval('#answer-section', (el) => (el as unknown as { hidden: boolean }).hidden), true, 'no VQA section for a caption model');
    assert.deepEqual(problems, []);
  });

  it('a VQA export answers a typed question about a dropped image as libtorch does', async (t) => {
    if (!chromium) return t.skip(`no Chromium at ${CHROMIUM}`);
    await page.goto(`${http.url}vqa-onnx/`, { waitUntil: 'load' });
    await page.waitForFunction(() => (globalThis as unknown as { flmDemo?: { model: unknown } }).flmDemo?.model, { timeout: 60_000 });
    assert.match(await page.$eval('#status', (el) => el.textContent ?? ''), /A vqa model/);
    assert.equal(await page.$eval('#caption-section', (el) => (el as unknown as { hidden: boolean }).hidden), true, 'no caption section');
    const input = await page.$('#file');
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(pngs[0]!);
    await page.waitForFunction(() => (globalThis as unknown as { flmDemo: { image: unknown } }).flmDemo.image !== null, { timeout: 20_000 });
    await page.type('#question', QUESTION);
    await page.click('#ask');
    await page.waitForFunction(() => ((globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } } }).document.getElementById('answer').textContent ?? '') !== '', { timeout: 20_000 });
    assert.equal(await page.$eval('#answer', (el) => el.textContent), expectedAnswer);
    assert.deepEqual(problems, []);
  });
});
