// `flm dashboard` end to end: the CLI serves a temporary runs folder (two pretraining runs, a caption
// fine-tune, a race, a run that trains while the page watches) and a real headless Chromium, driven
// by puppeteer-core, loads every view. Also: no path outside the runs folder is served, the page is
// read-only, a taken port is a one-line error. Screenshots go to the test's temp folder (printed).
// Without Chromium (FLM_CHROMIUM or /usr/bin/chromium) the browser tests are skipped, saying so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Browser, Page } from 'puppeteer-core';
import { manualSeed, tensor, tidy } from '../src/tensor/index.js';
import { biMask, corruptedBiMask, forwardMask, reverseMask } from '../src/objectives/index.js';
import { trainTokenizer } from '../src/data/tokenizer-train.js';
import { TextTokenizer } from '../src/data/tokenizer.js';
import { ShapesWorld } from '../src/data/shapes/index.js';
import { PRETRAIN_DEFAULTS, pretrain } from '../src/tasks/pretrain/recipe.js';
import { CAPTION_DEFAULTS, finetuneCaption } from '../src/tasks/caption/recipe.js';
import { summarize } from '../src/compare/report.js';
import type { RaceResults } from '../src/compare/race.js';
import { readMetricsFrom } from '../src/dashboard/metrics-tail.js';
import { cli } from './cli-helpers.js';

const FLM = fileURLToPath(new URL('../../bin/flm.js', import.meta.url));
const CHROMIUM = process.env.FLM_CHROMIUM ?? '/usr/bin/chromium';
const DATA = 'shapes:train?n=24&seed=3&size=32';

const root = mkdtempSync(join(tmpdir(), 'flm-dashboard-'));
const runs = join(root, 'runs');
const shots = join(root, 'screenshots');
const outside = join(root, 'outside');

/** Starts `flm ...args` and resolves with the process and its first stdout line. */
function startFlm(args: string[], timeoutMs = 30_000): Promise<{ child: ChildProcess; line: string; stderr: () => string }> {
  const child = spawn(process.execPath, [FLM, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`flm ${args.join(' ')} printed no line in ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve({ child, line: out.split('\n')[0]!, stderr: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`flm ${args.join(' ')} exited with ${code} before printing; stderr: ${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/** A raw request (the path is sent as written: no URL normalisation on this side). */
function raw(base: string, method: string, path: string, o: { body?: Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers: o.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A race's results.json as `flm compare` writes it, with made-up probe scores (a real race takes minutes). */
function writeRace(dir: string): RaceResults {
  mkdirSync(dir, { recursive: true });
  const runsOf: RaceResults['runs'] = [];
  for (const seed of [0, 1]) {
    for (const objective of ['flm', 'mlm'] as const) {
      const boost = objective === 'flm' ? 0.1 : 0;
      runsOf.push({
        objective, seed, run_dir: `/elsewhere/runs/${objective}-s${seed}`, steps: 40, elapsed_s: 4, steps_per_s: 10, s_per_step_median: 0.1, final_loss: 3 - boost,
        wall_s: 6, loss_curve: [[1, 5], [2, 4.2 - boost], [4, 3 - boost]],
        checkpoints: [0, 1, 2].map((k) => ({ k, step: k * 20, elapsed_s: k * 2, metrics: { mp_mean: 0.5 + k * (0.05 + boost) + seed * 0.01, zs_t2i_r1: 0.25 + k * 0.1 } })),
      });
    }
  }
  const res = { setup: { config: { objectives: ['flm', 'mlm'], seeds: 2, budgetS: 4, evals: 2, preset: 'tiny', batchSize: 8, lr: 1e-3 }, machine: { cpus: 2, model: 'test', threads: 2, loadavg_start: [0] }, started: '2026-01-01T00:00:00Z' }, runs: runsOf } as unknown as RaceResults;
  res.summary = summarize(res);
  writeFileSync(join(dir, 'results.json'), JSON.stringify(res, null, 1));
  writeFileSync(join(dir, 'report.md'), '# race\n');
  return res;
}

describe('flm dashboard', () => {
  let server: { child: ChildProcess; line: string; stderr: () => string };
  let url = '';
  let browser: Browser | null = null;
  let page: Page;
  let race: RaceResults;
  const problems: string[] = [];
  const png = join(root, 'scene.png');
  const chromium = existsSync(CHROMIUM);

  before(async () => {
    mkdirSync(runs);
    mkdirSync(shots);
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'TOP-SECRET');
    symlinkSync(outside, join(runs, 'link'));
    manualSeed(7);
    const pre = { ...PRETRAIN_DEFAULTS, objective: 'flm' as const, preset: 'tiny' as const, data: DATA, steps: 3, batchSize: 4, microBatch: 4, workers: 0, threads: 1, vocabSize: 300, logEvery: 1, saveEvery: 3, warmup: 1 };
    await pretrain({ ...pre, out: join(runs, 'pre-a'), lr: 5e-4 }, { quiet: true });
    await pretrain({ ...pre, out: join(runs, 'pre-b'), lr: 1e-3 }, { quiet: true });
    await finetuneCaption({
      ...CAPTION_DEFAULTS, preset: 'tiny', data: DATA, out: join(runs, 'cap'), steps: 2, batchSize: 4, lr: 1e-3, workers: 0, threads: 1, logEvery: 1, saveEvery: 2, vocabSize: 300,
    }, { quiet: true });
    race = writeRace(join(runs, 'race'));
    const world = new ShapesWorld({ seed: 5, n: 2, imageSize: 32 });
    await sharp(Buffer.from(world.image(0)), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(png);

    server = await startFlm(['dashboard', '--runs', runs, '--port', '0']);
    url = server.line.trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'the URL of the free port is printed');

    if (!chromium) return;
    const puppeteer = (await import('puppeteer-core')).default;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    console.log(`dashboard screenshots: ${shots}`);
  });

  after(async () => {
    await browser?.close();
    if (server?.child.exitCode === null) {
      server.child.kill('SIGTERM');
      assert.equal(await exited(server.child), 0, `the dashboard stops cleanly on SIGTERM; stderr: ${server.stderr()}`);
    }
    if (!process.env.FLM_KEEP_TEMP) rmSync(root, { recursive: true, force: true });
  });

  /** Opens a view and fails on any console error, page error or failed request it causes. */
  async function open(hash: string, ready: string): Promise<void> {
    problems.length = 0;
    await page.goto(`${url}#${hash}`, { waitUntil: 'load' });
    await page.waitForSelector(ready, { timeout: 20_000 });
  }
  const noProblems = (): void => assert.deepEqual(problems, [], 'the page logged no errors');
  const points = (key: string): Promise<number> => page.$eval(`.chart[data-chart="${key}"]`, (el) => Number(el.getAttribute('data-points'))).catch(() => 0);

  it('runs view: every run and race, the ticked runs\' settings that differ, final metrics and curves', async (t) => {
    if (!chromium) return t.skip(`no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set FLM_CHROMIUM`);
    await open('runs?select=pre-a,pre-b', 'tr[data-run="cap"]');
    const ids = await page.$$eval('tr[data-run]', (rows) => rows.map((r) => r.getAttribute('data-run')));
    assert.deepEqual(ids, ['cap', 'pre-a', 'pre-b']);
    assert.ok(!ids.includes('link'), 'a symlinked folder is not followed');
    assert.match(await page.$eval('#races-table', (el) => el.textContent ?? ''), /race.*flm, mlm/);
    await page.waitForSelector('#config-diff tr[data-key="lr"]');
    const diff = await page.$$eval('#config-diff tbody tr', (rows) => rows.map((r) => r.getAttribute('data-key')));
    assert.deepEqual(diff, ['lr', 'out'], 'only the settings that differ');
    const lr = await page.$$eval('#config-diff tr[data-key="lr"] td', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(lr, ['0.0005', '0.001']);
    assert.ok(await page.$('#final-metrics tr[data-key="loss"]'));
    await waitFor(async () => (await points('loss')) === 6 && (await points('lr')) === 6, 'the loss and lr curves of both runs (3 points each)');
    noProblems();
    await page.screenshot({ path: join(shots, 'runs.png'), fullPage: true });
  });

  it('a live curve gains points while a run trains', async (t) => {
    if (!chromium) return t.skip(`no Chromium at ${CHROMIUM}`);
    const out = join(runs, 'live');
    const train = spawn(process.execPath, [FLM, 'pretrain', '--preset', 'tiny', '--data', DATA, '--out', out, '--steps', '2000', '--batch-size', '4',
      '--log-every', '1', '--save-every', '100000', '--workers', '0', '--threads', '1', '--vocab-size', '300', '--quiet'], { stdio: 'ignore' });
    try {
      const lines = (): number => (existsSync(join(out, 'metrics.jsonl')) ? readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').length - 1 : 0);
      await waitFor(() => lines() >= 1, 'the first metrics line of the training run', 30_000);
      await open('runs?select=live', '.chart[data-chart="loss"]');
      await waitFor(async () => (await points('loss')) >= 1, 'the live run\'s first point');
      const first = await points('loss');
      await waitFor(async () => (await points('loss')) > first, 'a new point on the live curve');
      assert.equal(train.exitCode, null, 'the run was still training');
      assert.ok(await page.$('tr[data-run="live"] .dot.live'), 'the run is marked live');
      noProblems();
      await page.screenshot({ path: join(shots, 'live.png'), fullPage: true });
    } finally {
      train.kill('SIGKILL');
      await exited(train);
    }
  });

  it('race view: the verdict, a chart with seed bands and the time to target per metric', async (t) => {
    if (!chromium) return t.skip(`no Chromium at ${CHROMIUM}`);
    await open('race?id=race', '#race-verdict');
    assert.equal(await page.$eval('#race-verdict', (el) => el.textContent), race.summary!.headline.text);
    await page.waitForSelector('.race-metric[data-metric="mp_mean"] .chart[data-points="6"]');
    const metrics = await page.$$eval('.race-metric', (els) => els.map((e) => e.getAttribute('data-metric')));
    assert.deepEqual(metrics, race.summary!.metrics);
    const ttt = await page.$$eval('.race-metric[data-metric="mp_mean"] table.grid tbody tr', (rows) => rows.map((r) => r.textContent));
    assert.equal(ttt.length, 2);
    assert.match(ttt[0]!, /^flm/);
    assert.ok(await page.$('.chart[data-chart="race-loss"]'), 'the training-loss chart');
    noProblems();
    await page.screenshot({ path: join(shots, 'race.png'), fullPage: true });
  });

  it('mask view: the masks are the library\'s, for the seed and rate picked', async (t) => {
    // the server's masks against the library called here: forward mask, and the reconstructor mask
    // that corruptedBiMask samples after manualSeed(seed), as training does
    const text = 'a red star.';
    const r = JSON.parse((await raw(url, 'GET', `/api/masks?text=${encodeURIComponent(text)}&rate=0.5&seed=3`)).body) as { L: number; forward: string[]; reconstructor: string[]; spans: unknown[] };
    const tok = new TextTokenizer(await trainTokenizer([], { kind: 'bpe', vocabSize: 261 }), { maxLength: 40 });
    const e = tok.encode(text, { pad: false });
    assert.equal(r.L, e.length);
    const rows = (m: import('../src/tensor/index.js').Tensor): string[] => {
      const K = m.shape[3]!;
      const f = m.toFlatArray();
      return Array.from({ length: r.L }, (_, q) => f.slice(q * K, (q + 1) * K).map((v) => (v ? '1' : '0')).join(''));
    };
    tidy(() => {
      const masks = tensor([Array.from(e.attentionMask)], { dtype: 'int64' });
      const fwd = forwardMask(masks);
      const rev = reverseMask(masks, fwd);
      assert.deepEqual(r.forward, rows(fwd));
      manualSeed(3);
      const bi = corruptedBiMask({ fwd, rev }, 0.5);
      assert.deepEqual(r.reconstructor, rows(bi));
      assert.notDeepEqual(r.reconstructor, rows(biMask(fwd, rev)), 'rate 0.5 hides something');
    });
    assert.equal(r.spans.length, r.L - 1);

    if (!chromium) return t.skip(`no Chromium at ${CHROMIUM}`);
    await open('masks', '#mask-reconstructor');
    await page.click('#mask-text', { clickCount: 3 });
    await page.type('#mask-text', text);
    await page.evaluate(`for (const [id, v] of [['#mask-rate', '0.5'], ['#mask-seed', '3']]) {
      const el = document.querySelector(id); el.value = v; el.dispatchEvent(new Event('input'));
    }`);
    await page.waitForFunction(`document.querySelector('#mask-reconstructor')?.getAttribute('data-cols') === '${2 * r.L}'
      && document.querySelector('#mask-out p')?.textContent.includes('"${text}"') && document.querySelector('#mask-out p')?.textContent.includes('seed 3')`, { timeout: 10_000 });
    const allowed = r.reconstructor.join('').split('').filter((c) => c === '1').length;
    assert.equal(await page.$eval('#mask-reconstructor', (el) => Number(el.getAttribute('data-allowed'))), allowed);
    assert.ok((await page.$$('#mask-reconstructor rect.corrupted')).length > 0, 'cells hidden by spans are drawn');
    assert.equal((await page.$$('#mask-spans tbody tr')).length, r.L - 1);
    noProblems();
    await page.screenshot({ path: join(shots, 'masks.png'), fullPage: true });
  });

  it('try-it view: an uploaded image gets the caption `flm caption` gives, and typed captions are ranked', async (t) => {
    if (!chromium) return t.skip(`no Chromium at ${CHROMIUM}`);
    await open('try', '#try-model option[value="cap"]');
    await page.select('#try-model', 'cap');
    // (the file input's handle; typed loosely: the tests compile without the DOM library)
    const input = (await page.$('#try-file')) as unknown as { uploadFile(...paths: string[]): Promise<void> };
    await input.uploadFile(png);
    await page.type('#try-texts', 'a red circle.\na blue square.');
    await page.waitForFunction(`!document.querySelector('#try-run').disabled`);
    await page.click('#try-run');
    await page.waitForSelector('#try-caption-greedy', { timeout: 30_000 });
    const greedy = await page.$eval('#try-caption-greedy', (el) => el.textContent ?? '');
    const expected = await cli('caption', png, '--checkpoint', join(runs, 'cap'));
    assert.equal(expected.code, 0, expected.err);
    assert.equal(greedy, expected.out.trim() || '(empty)');
    assert.ok(await page.$('#try-caption-beam'));
    assert.equal((await page.$$('#try-ranked li')).length, 2);
    noProblems();
    await page.screenshot({ path: join(shots, 'try.png'), fullPage: true });
  });

  it('serves nothing outside the runs folder and accepts no writes', async () => {
    const secret = (r: { body: string }): boolean => r.body.includes('TOP-SECRET') || r.body.includes('root:');
    assert.equal((await raw(url, 'GET', '/files/pre-a/config.json')).status, 200, 'a file of a run is served');
    for (const path of [
      '/files/../../../../etc/passwd', '/files/..%2f..%2f..%2f..%2fetc%2fpasswd', '/files/%2e%2e/outside/secret.txt', '/files/link/secret.txt',
      '/files//etc/passwd', '/files/%2Fetc%2Fpasswd', '/api/metrics?run=..%2Foutside', '/api/metrics?run=%2Fetc', '/api/metrics?run=link',
      '/api/race?id=..', '/api/masks?text=a&tokenizer=..%2Foutside', '/static/..%2F..%2Fpackage.json', '/vendor/..%2Fpackage.json',
    ]) {
      const r = await raw(url, 'GET', path);
      assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status} ${r.body}`);
      assert.ok(!secret(r), `${path} leaked a file`);
    }
    assert.equal((await raw(url, 'GET', '/files/link/secret.txt')).status, 403, 'a symlink out of the runs folder is refused');
    assert.match((await raw(url, 'GET', '/api/metrics?run=..%2Foutside')).body, /outside the runs folder/);
    const upload = await raw(url, 'POST', '/api/try?model=..%2Foutside', { body: readFileSync(png), headers: { 'Content-Type': 'image/png' } });
    assert.equal(upload.status, 403);
    for (const [method, path] of [['PUT', '/files/pre-a/config.json'], ['DELETE', '/files/pre-a/config.json'], ['POST', '/api/runs'], ['GET', '/api/try?model=cap']]) {
      assert.equal((await raw(url, method!, path!)).status, 405, `${method} ${path}`);
    }
    const big = await raw(url, 'POST', '/api/try?model=cap', { body: Buffer.alloc(11 * 1024 * 1024), headers: { 'Content-Type': 'image/png' } });
    assert.equal(big.status, 413);
    assert.equal((await raw(url, 'GET', '/', { headers: { Host: 'evil.example:80' } })).status, 403, 'DNS rebinding: a foreign Host is refused');
    assert.ok(existsSync(join(runs, 'pre-a', 'config.json')));
  });

  it('a taken port and a missing runs folder are one-line errors', async () => {
    const port = new URL(url).port;
    for (const [args, message] of [
      [['--runs', runs, '--port', port], new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`)],
      [['--runs', join(root, 'nope'), '--port', '0'], /runs folder .*nope does not exist/],
    ] as const) {
      const child = spawn(process.execPath, [FLM, 'dashboard', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
      assert.equal(await exited(child), 1);
      assert.match(err, message);
      assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
    }
  });
});

describe('metrics.jsonl read on from a byte offset', () => {
  it('returns whole new lines only, and starts again when the log was truncated', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flm-dashboard-tail-'));
    const path = join(dir, 'metrics.jsonl');
    assert.deepEqual(readMetricsFrom(path, 0), { offset: 0, reset: false, more: false, records: [] }, 'no log yet');
    writeFileSync(path, '{"step":1,"loss":3}\n{"step":2,"loss":2}\n{"step":3,"lo');
    const a = readMetricsFrom(path, 0);
    assert.deepEqual(a.records.map((r) => r.step), [1, 2], 'the line being written is left for later');
    assert.equal(readMetricsFrom(path, a.offset).records.length, 0);
    appendFileSync(path, 'ss":1}\n');
    const b = readMetricsFrom(path, a.offset);
    assert.deepEqual([b.reset, b.records.map((r) => r.step)], [false, [3]]);
    // a resumed run truncates the log to its checkpoint, then writes on: the old offset is stale
    writeFileSync(path, '{"step":1,"loss":3}\n{"step":2,"loss":2.5}\n{"step":3,"loss":1.5}\n{"step":4,"loss":1}\n');
    const c = readMetricsFrom(path, b.offset);
    assert.equal(c.reset, true);
    assert.deepEqual(c.records.map((r) => r.loss), [3, 2.5, 1.5, 1]);
    writeFileSync(path, '{"step":1,"loss":3}\n');
    assert.equal(readMetricsFrom(path, c.offset).reset, true, 'an offset past the end');
    const small = readMetricsFrom(path, 0, 8);
    assert.equal(small.records.length, 0);
    rmSync(dir, { recursive: true, force: true });
  });
});
