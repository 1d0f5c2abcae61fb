/**
 * ViLT/METER/FLM-style Arrow IPC files: one row per image with columns `image` (binary JPEG bytes),
 * `caption` (list<string>), `image_id` and `split`. Read with apache-arrow over a FileHandle, one
 * record batch at a time: opening scans the batches once for the small columns, and `get` re-reads
 * the batch that holds a row (a small LRU keeps the last few). There is no mmap in JS, so a batch
 * sits in memory while its rows are read; ViLT's writer makes batches of up to ~2 GB. apache-arrow
 * trusts the lengths a file states, so each file and batch is checked first (arrow-check.ts): a broken
 * one is counted in openFailures, never read.
 *
 *   arrow:data/coco_caption_karpathy_*.arrow?split=train&image=image&caption=caption
 */
import { open, type FileHandle } from 'node:fs/promises';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { DataError, type IndexedSource, type SourceEntry } from '../types.js';
import { splitFilter, type Failure } from './common.js';
import { expandPaths } from './paths.js';
import { checkArrowFile, checkColumn, checkColumnTypes } from './arrow-check.js';

interface Block {
  file: number;
  batch: number;
  /** Rows of the batch that passed the split filter. */
  rows: number[];
  /** Index of the block's first item. */
  start: number;
}

type AnyReader = Awaited<ReturnType<typeof RecordBatchReader.from>>;

interface OpenFile {
  path: string;
  handle: FileHandle | null;
  reader: AnyReader | null;
  /** Stream-format files cannot seek: their batches are kept. */
  kept: RecordBatch[] | null;
  /** Serialises reads on one handle. */
  lock: Promise<unknown>;
}

function textOf(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (typeof v === 'string') return [v];
  const arr = typeof (v as { toArray?: unknown }).toArray === 'function' ? (v as { toArray(): unknown }).toArray() : v;
  return Array.isArray(arr) ? arr.filter((x): x is string => typeof x === 'string') : [];
}

function bytesOf(v: unknown): Uint8Array | null {
  return v instanceof Uint8Array && v.byteLength > 0 ? v : null;
}

export class ArrowSource implements IndexedSource {
  readonly kind = 'indexed' as const;
  readonly textKind = 'caption' as const;
  readonly imagesPerItem = 1;
  readonly openFailures: Failure[] = [];
  private readonly files: OpenFile[] = [];
  private readonly blockList: Block[] = [];
  private readonly keys: string[] = [];
  private readonly captions: string[][] = [];
  private readonly splits: Array<string | undefined> = [];
  private readonly cache = new Map<string, Promise<RecordBatch>>();
  private readonly cacheSize: number;

  private constructor(readonly name: string, private readonly imageCol: string, private readonly captionCol: string, cacheSize: number) {
    this.cacheSize = cacheSize;
  }

  static async open(pattern: string, q: URLSearchParams, name: string): Promise<ArrowSource> {
    const paths = await expandPaths(pattern);
    if (paths.length === 0) throw new DataError(`arrow: no files match ${pattern}`);
    const cache = Number(q.get('cache') ?? 2);
    if (!Number.isInteger(cache) || cache < 1) throw new DataError(`arrow: cache must be a positive number of record batches, got '${q.get('cache')}'`);
    const src = new ArrowSource(name, q.get('image') ?? 'image', q.get('caption') ?? 'caption', cache);
    const splits = splitFilter(q);
    for (const path of paths) await src.scan(path, splits);
    return src;
  }

  get length(): number {
    return this.keys.length;
  }

  get blocks(): number[] {
    return this.blockList.map((b) => b.rows.length);
  }

  captionCount(i: number): number {
    return (this.captions[i] as string[]).length;
  }

  private async scan(path: string, splits: Set<string> | undefined): Promise<void> {
    const f: OpenFile = { path, handle: null, reader: null, kept: null, lock: Promise.resolve() };
    const fi = this.files.length;
    this.files.push(f);
    try {
      f.handle = await open(path, 'r');
      await checkArrowFile(f.handle);
      f.reader = await RecordBatchReader.from(f.handle);
      await f.reader.open();
    } catch (e) {
      this.openFailures.push({ key: path, reason: `not a readable Arrow IPC file: ${(e as Error).message}` });
      return;
    }
    const reader = f.reader;
    const visit = (batch: RecordBatch, b: number): void => {
      const cap = batch.getChild(this.captionCol);
      const img = batch.getChild(this.imageCol);
      if (cap === null || img === null) {
        this.openFailures.push({ key: `${path}#${b}`, reason: `missing column "${cap === null ? this.captionCol : this.imageCol}"` });
        return;
      }
      const ids = batch.getChild('image_id');
      const sp = batch.getChild('split');
      const broken = checkColumnTypes(img, cap, this.imageCol, this.captionCol)
        ?? ([[img, this.imageCol], [cap, this.captionCol], [ids, 'image_id'], [sp, 'split']] as const)
          .map(([v, n]) => (v === null ? null : checkColumn(v, n)) ?? (v !== null && v.length < batch.numRows ? `column "${n}" has ${v.length} rows, the batch ${batch.numRows}` : null))
          .find((x) => x !== null) ?? null;
      if (broken !== null) {
        this.openFailures.push({ key: `${path}#${b}`, reason: `broken record batch: ${broken}` });
        return;
      }
      const block: Block = { file: fi, batch: b, rows: [], start: this.keys.length };
      for (let r = 0; r < batch.numRows; r++) {
        const split = sp?.get(r) as string | undefined ?? undefined;
        if (splits !== undefined && (split === undefined || !splits.has(split))) continue;
        const id = ids?.get(r);
        const key = id === null || id === undefined ? `${path}#${b}:${r}` : String(id);
        const captions = textOf(cap.get(r));
        if (captions.length === 0) {
          this.openFailures.push({ key: `${path}:${key}`, reason: 'no captions' });
          continue;
        }
        block.rows.push(r);
        this.keys.push(key);
        this.captions.push(captions);
        this.splits.push(split ?? undefined);
      }
      if (block.rows.length > 0) this.blockList.push(block);
    };
    try {
      if (reader.isFile()) {
        for (let b = 0; b < reader.numRecordBatches; b++) {
          const batch = await reader.readRecordBatch(b);
          if (batch !== null) visit(batch, b);
        }
      } else {
        f.kept = [];
        let b = 0;
        for await (const batch of reader) {
          f.kept.push(batch);
          visit(batch, b++);
        }
      }
    } catch (e) {
      this.openFailures.push({ key: path, reason: `broken Arrow file: ${(e as Error).message}` });
    }
  }

  private loadBatch(block: Block): Promise<RecordBatch> {
    const id = `${block.file}:${block.batch}`;
    const hit = this.cache.get(id);
    if (hit !== undefined) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const f = this.files[block.file] as OpenFile;
    const p = f.lock.then(async () => {
      if (f.kept !== null) return f.kept[block.batch] as RecordBatch;
      const r = f.reader;
      if (r === null || !r.isFile()) throw new DataError(`${f.path} is not open`);
      const batch = await r.readRecordBatch(block.batch);
      if (batch === null) throw new DataError(`${f.path}: record batch ${block.batch} is missing`);
      // the scan checked this batch; the file may have changed since
      const img = batch.getChild(this.imageCol);
      const broken = img === null ? `no column "${this.imageCol}"` : checkColumn(img, this.imageCol);
      if (broken !== null) throw new DataError(`${f.path}: record batch ${block.batch}: ${broken}`);
      return batch;
    });
    f.lock = p.catch(() => undefined);
    this.cache.set(id, p);
    while (this.cache.size > Math.max(1, this.cacheSize)) this.cache.delete(this.cache.keys().next().value as string);
    p.catch(() => this.cache.delete(id));
    return p;
  }

  private blockOf(i: number): Block {
    let lo = 0;
    let hi = this.blockList.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.blockList[mid] as Block).start <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.blockList[lo] as Block;
  }

  async get(i: number): Promise<SourceEntry> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`${this.name}: index ${i} out of range [0, ${this.length})`);
    const block = this.blockOf(i);
    const row = block.rows[i - block.start] as number;
    const path = (this.files[block.file] as OpenFile).path;
    const key = this.keys[i] as string;
    let bytes: Uint8Array | null;
    try {
      const batch = await this.loadBatch(block);
      bytes = bytesOf(batch.getChild(this.imageCol)?.get(row));
    } catch (e) {
      return { ok: false, key: `${path}:${key}`, reason: (e as Error).message };
    }
    if (bytes === null) return { ok: false, key: `${path}:${key}`, reason: 'empty image bytes' };
    const split = this.splits[i];
    return {
      ok: true,
      item: {
        key, images: [{ kind: 'bytes', bytes, origin: `${path}:${key}` }], captions: this.captions[i] as string[],
        ...(split !== undefined ? { split } : {}),
      },
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceEntry> {
    for (let i = 0; i < this.length; i++) yield await this.get(i);
  }

  async close(): Promise<void> {
    this.cache.clear();
    for (const f of this.files) await f.handle?.close();
  }
}
