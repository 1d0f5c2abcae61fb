// `flm dashboard`: a local, read-only web page over a runs folder, served with node:http.
//
//   GET  /                       the page (web/dashboard/index.html); /static/<name>, /vendor/<uPlot file>
//   GET  /api/runs               every run and race folder with settings and final metrics (runs.ts)
//   GET  /api/metrics?run=&offset=   the records appended to a run's metrics.jsonl since a byte offset
//   GET  /api/race?id=           a race folder's results (race-view.ts)
//   GET  /api/masks?text=&rate=&seed=&tokenizer=&keep=   FLM's attention masks of a caption (masks-view.ts)
//   POST /api/try?model=&beam=&question=&text=...        the body is an image (at most maxUploadBytes)
//   GET  /files/<path>           a file of the runs folder as it is
//
// Nothing is written to the runs folder; the only POST is the try-it upload. Every path named by a
// request goes through RunsRoot.resolve (paths.ts) and is refused outside the runs folder. Bound to a
// loopback address, requests whose Host header names another host are refused too (DNS rebinding).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadAssets, contentType, type Asset } from './assets.js';
import { NotFoundError, PathRefusedError, RunsRoot } from './paths.js';
import { listRuns } from './runs.js';
import { readMetricsFrom } from './metrics-tail.js';
import { raceView } from './race-view.js';
import { MaskRequestError, maskView } from './masks-view.js';
import { loadTryItModel, type TryItModel } from './try-it.js';
import { CheckpointError } from '../train/checkpoint.js';
import { InputError } from '../tasks/common/inference-inputs.js';

export interface DashboardOptions {
  /** the runs folder */
  runs: string;
  /** default 127.0.0.1 */
  host?: string;
  /** default 8080; 0 picks a free port */
  port?: number;
  /** largest try-it upload in bytes (default 10 MB); bigger ones get 413 */
  maxUploadBytes?: number;
}

export interface Dashboard {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Start-up problems (port taken, bad host, ...): one sentence, no stack trace. */
export class DashboardError extends Error {
  override readonly name = 'DashboardError';
}

/** A request the server answers with `status` and the message. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
const MAX_UPLOAD = 10 * 1024 * 1024;
const MAX_TEXTS = 16;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const isLoopback = (host: string): boolean => LOOPBACK.has(host) || /^127\./.test(host);

const PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
// run files are shown as they are, never as part of the page: no scripts, no same-origin access
const FILE_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'";

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

function sendAsset(res: ServerResponse, a: Asset | undefined, name: string): void {
  if (!a) throw new HttpError(404, `no such file: ${name}`);
  send(res, 200, a.type, a.body, a.type.startsWith('text/html') ? { 'Content-Security-Policy': PAGE_CSP } : {});
}

function numberParam(q: URLSearchParams, name: string, dflt: number): number {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new HttpError(400, `${name} must be a number, got '${v}'`);
  return n;
}

function required(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null || v === '') throw new HttpError(400, `the ${name} parameter is missing`);
  return v;
}

/** The request body, refused with 413 past `limit` bytes (by its Content-Length or as it streams). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume(); // drain, so the client reads the answer instead of a reset connection
    return Promise.reject(new HttpError(413, `the image is ${(declared / 1e6).toFixed(1)} MB; at most ${(limit / 1e6).toFixed(0)} MB are accepted`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, `the image is larger than ${(limit / 1e6).toFixed(0)} MB`));
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** What a failed part of a try-it request says (the other parts still answer). */
async function part<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const root = new RunsRoot(o.runs);
  const { page, vendor } = loadAssets();
  const host = o.host ?? DEFAULT_HOST;
  const limit = o.maxUploadBytes ?? MAX_UPLOAD;
  const allowedHosts = new Set([...LOOPBACK, host]);

  // one model in memory at a time, reloaded when its folder changes; try-it requests run one by one
  let loaded: { key: string; model: TryItModel } | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };
  const modelFor = async (id: string): Promise<TryItModel> => {
    const dir = root.resolve(id);
    const ck = join(dir, 'checkpoints');
    const key = `${dir}:${statSync(existsSync(ck) ? ck : dir).mtimeMs}`;
    if (loaded?.key === key) return loaded.model;
    loaded?.model.dispose();
    loaded = null;
    const model = await loadTryItModel(dir);
    loaded = { key, model };
    return model;
  };

  const tryIt = async (req: IncomingMessage, q: URLSearchParams): Promise<unknown> => {
    const id = required(q, 'model');
    const beam = numberParam(q, 'beam', 3);
    if (!Number.isInteger(beam) || beam < 1 || beam > 16) throw new HttpError(400, `beam must be an integer in [1, 16], got ${beam}`);
    const question = (q.get('question') ?? '').trim();
    const texts = q.getAll('text').map((t) => t.trim()).filter(Boolean).slice(0, MAX_TEXTS);
    const image = await readBody(req, limit);
    if (image.length === 0) throw new HttpError(400, 'no image: send the image file as the request body');
    return serial(async () => {
      const m = await modelFor(id);
      const greedy = await part(() => m.caption(image, { beam: 1 }));
      const caption = typeof greedy === 'string' ? { greedy, beam: beam === 1 ? greedy : await part(() => m.caption(image, { beam })), beamSize: beam } : greedy;
      return {
        model: id, checkpoint: root.idOf(m.checkpoint), task: m.task, caption,
        answers: question ? await part(() => m.answer(image, question, { top: 5 })) : null,
        ranked: texts.length ? await part(() => m.score(image, texts)) : null,
      };
    });
  };

  const api = async (req: IncomingMessage, path: string, q: URLSearchParams): Promise<unknown> => {
    switch (path) {
      case '/api/runs':
        return { root: root.dir, ...listRuns(root) };
      case '/api/metrics': {
        const dir = root.resolve(required(q, 'run'));
        if (!statSync(dir).isDirectory()) throw new NotFoundError(`${q.get('run')} is not a run folder`);
        return readMetricsFrom(join(dir, 'metrics.jsonl'), numberParam(q, 'offset', 0));
      }
      case '/api/race':
        return raceView(root, required(q, 'id'));
      case '/api/masks': {
        const tok = q.get('tokenizer');
        return serial(() => maskView(root, {
          text: q.get('text') ?? '', rate: numberParam(q, 'rate', 0.3), seed: numberParam(q, 'seed', 0),
          keepOneVisible: q.get('keep') === '1', tokenizer: tok && tok !== 'byte' ? tok : null,
        }));
      }
      case '/api/try':
        return tryIt(req, q);
      default:
        throw new HttpError(404, `no such endpoint: ${path}`);
    }
  };

  const serveFile = (res: ServerResponse, rel: string): void => {
    const real = root.resolve(rel);
    const st = statSync(real);
    if (!st.isFile()) throw new HttpError(404, `${rel} is not a file`);
    res.writeHead(200, {
      'Content-Type': contentType(real), 'Content-Length': st.size, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store',
      'Content-Security-Policy': FILE_CSP,
    });
    createReadStream(real).on('error', () => res.destroy()).pipe(res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (isLoopback(host) && !allowedHosts.has(hostHeader)) throw new HttpError(403, `requests for host '${hostHeader}' are refused (the dashboard serves ${host} only)`);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://dashboard');
    } catch {
      throw new HttpError(400, 'malformed request URL');
    }
    const path = url.pathname;
    const post = path === '/api/try';
    if (req.method !== 'GET' && !(post && req.method === 'POST')) {
      throw new HttpError(405, `${req.method} is not allowed: the dashboard is read-only${post ? ' (POST an image to /api/try)' : ''}`);
    }
    if (post && req.method !== 'POST') throw new HttpError(405, 'POST the image to /api/try');
    if (path === '/' || path === '/index.html') return sendAsset(res, page.get('index.html'), 'index.html');
    if (path.startsWith('/static/')) return sendAsset(res, page.get(path.slice(8)), path);
    if (path.startsWith('/vendor/')) return sendAsset(res, vendor.get(path.slice(8)), path);
    if (path.startsWith('/files/')) {
      let rel: string;
      try {
        rel = decodeURIComponent(path.slice(7));
      } catch {
        throw new HttpError(400, 'malformed path');
      }
      return serveFile(res, rel);
    }
    if (path.startsWith('/api/')) return sendJson(res, 200, await api(req, path, url.searchParams));
    throw new HttpError(404, `no such page: ${path}`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof PathRefusedError ? 403 : e instanceof NotFoundError ? 404
        : e instanceof MaskRequestError || e instanceof RangeError || e instanceof InputError ? 400
          : e instanceof CheckpointError ? 422 : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (status === 500) console.error(`flm dashboard: ${req.method} ${req.url}: ${message}`);
      if (res.headersSent) res.destroy();
      else sendJson(res, status, { error: message });
    });
  });

  const requested = o.port ?? DEFAULT_PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new DashboardError(`port ${requested} on ${host} is already in use: stop what is using it, or pick another port with --port (--port 0 picks a free one)`));
      else if (e.code === 'EACCES') reject(new DashboardError(`not allowed to listen on port ${requested} (ports below 1024 need privileges): pick another with --port`));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') reject(new DashboardError(`cannot listen on host '${host}': not an address of this machine`));
      else reject(new DashboardError(`cannot listen on ${host}:${requested}: ${e.message}`));
    });
    server.listen(requested, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`, host, port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue;
      loaded?.model.dispose();
      loaded = null;
    },
  };
}
