/** Pieces shared by the file formats: an in-memory indexed source, JSON reading, split filters. */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve, relative, sep } from 'node:path';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { DataError, type DataItem, type IndexedSource, type SourceEntry, type TextKind } from '../types.js';

export interface Failure {
  key: string;
  reason: string;
}

/** An indexed source over items held in memory (images stay on disk until decoded). */
export class MemorySource implements IndexedSource {
  readonly kind = 'indexed' as const;

  constructor(
    readonly name: string,
    private readonly items: readonly DataItem[],
    readonly textKind: TextKind,
    readonly openFailures: readonly Failure[] = [],
    readonly imagesPerItem = 1,
  ) {}

  get length(): number {
    return this.items.length;
  }

  captionCount(i: number): number {
    return (this.items[i] as DataItem).captions.length;
  }

  async get(i: number): Promise<SourceEntry> {
    const item = this.items[i];
    if (item === undefined) throw new RangeError(`${this.name}: index ${i} out of range [0, ${this.items.length})`);
    return { ok: true, item };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceEntry> {
    for (const item of this.items) yield { ok: true, item };
  }
}

/** Files above this size are parsed as a stream (stream-json) instead of one JSON.parse. */
export const STREAM_JSON_BYTES = 256 * 1024 * 1024;

async function requireFile(path: string, what: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new DataError(`${what} ${path} is not a file`);
    return s.size;
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${what} ${path} not found`);
  }
}

export async function readJson(path: string, what: string): Promise<unknown> {
  await requireFile(path, what);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (e) {
    throw new DataError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The elements of the top-level array `field` of a JSON file (or of the file itself when field is
 * ''). Large files are streamed so that a 300 MB annotation file never sits in memory as one string.
 */
export async function readJsonArray(path: string, field: string, what: string, streamAbove = STREAM_JSON_BYTES): Promise<unknown[]> {
  const size = await requireFile(path, what);
  if (size <= streamAbove) {
    const doc = await readJson(path, what);
    const arr = field === '' ? doc : isRecord(doc) ? doc[field] : undefined;
    if (!Array.isArray(arr)) throw new DataError(`${what} ${path} has no "${field}" array`);
    return arr as unknown[];
  }
  const stages = field === '' ? [createReadStream(path), parser(), streamArray()] : [createReadStream(path), parser(), pick({ filter: field }), streamArray()];
  const out: unknown[] = [];
  try {
    for await (const chunk of chain(stages)) out.push((chunk as { value: unknown }).value);
  } catch (e) {
    throw new DataError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return out;
}

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** `split=train,restval` -> a set; undefined keeps every split. */
export function splitFilter(q: URLSearchParams): Set<string> | undefined {
  const s = q.get('split');
  if (s === null || s === '' || s === 'all') return undefined;
  return new Set(s.split(',').map((x) => x.trim()).filter((x) => x !== ''));
}

export function resolveUnder(root: string, p: string): string {
  return isAbsolute(p) ? p : resolve(root, p);
}

/**
 * An image named by a dataset file: a relative name resolved under the image root, or null when it
 * climbs out of it (`../../etc/passwd`); an absolute name is the user's own and is taken as it is.
 */
export function imagePathUnder(root: string, name: string): string | null {
  if (isAbsolute(name)) return name;
  const p = resolve(root, name);
  const rel = relative(resolve(root), p);
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? null : p;
}

/** The failure of an image name that leaves the image root. */
export const leavesRoot = (key: string, name: string): Failure => ({ key, reason: `image name '${name}' leaves the image root` });

/** A string field, or undefined. */
export function str(rec: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = rec[n];
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

/** Captions from a field that may be a string, a list of strings, or a list of {raw}/{caption} objects. */
export function captionsOf(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) {
    if (typeof x === 'string') out.push(x);
    else if (isRecord(x)) {
      const s = str(x, 'raw', 'caption', 'text');
      if (s !== undefined) out.push(s);
    }
  }
  return out;
}

/** Group (image, caption) rows by image path, keeping first-appearance order. */
export function groupByImage(rows: Iterable<{ image: string; captions: string[]; split?: string; key?: string }>): DataItem[] {
  const byImage = new Map<string, DataItem>();
  for (const r of rows) {
    let item = byImage.get(r.image);
    if (item === undefined) {
      item = { key: r.key ?? r.image, images: [{ kind: 'path', path: r.image }], captions: [], ...(r.split !== undefined ? { split: r.split } : {}) };
      byImage.set(r.image, item);
    }
    item.captions.push(...r.captions);
  }
  return [...byImage.values()];
}
