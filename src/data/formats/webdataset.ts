/**
 * webdataset `.tar` shards, streamed with tar-stream. Members are grouped into samples by key (the
 * member path up to the first dot of its basename, the webdataset `__key__` rule); a sample has one
 * image (.jpg/.jpeg/.png/.webp) and a caption from .txt (the whole text) or .json (caption, captions,
 * text or sentences). The shard list takes bash brace expansion (braces) and globs (tinyglobby).
 *
 *   wds:shards/{000..015}.tar?split=train
 *
 * No maintained webdataset reader exists on npm (engineering notes), hence this one.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import tar from 'tar-stream';
import { DataError, type DataItem, type SourceEntry, type StreamSource } from '../types.js';
import { captionsOf, isRecord, type Failure } from './common.js';
import { expandPaths } from './paths.js';

const IMAGE_EXTS = ['jpg', 'jpeg', 'png', 'webp'];

interface Member {
  ext: string;
  data: Buffer;
}

export function splitMemberName(name: string): { key: string; ext: string } {
  const base = basename(name);
  const dot = base.indexOf('.');
  if (dot < 0) return { key: name, ext: '' };
  const dir = dirname(name);
  return { key: dir === '.' ? base.slice(0, dot) : join(dir, base.slice(0, dot)), ext: base.slice(dot + 1).toLowerCase() };
}

function toEntry(shard: string, key: string, members: Member[]): SourceEntry {
  const id = `${shard}:${key}`;
  const img = members.find((m) => IMAGE_EXTS.includes(m.ext) || IMAGE_EXTS.includes(m.ext.split('.').pop() ?? ''));
  if (img === undefined) return { ok: false, key: id, reason: `no image member (${members.map((m) => m.ext).join(', ') || 'empty'})` };
  let captions: string[] = [];
  let split: string | undefined;
  const json = members.find((m) => m.ext === 'json');
  if (json !== undefined) {
    try {
      const rec: unknown = JSON.parse(json.data.toString('utf8'));
      if (isRecord(rec)) {
        captions = captionsOf(rec.caption ?? rec.captions ?? rec.text ?? rec.sentences);
        if (typeof rec.split === 'string') split = rec.split;
      }
    } catch (e) {
      return { ok: false, key: id, reason: `invalid .json member: ${(e as Error).message}` };
    }
  }
  const txt = members.find((m) => m.ext === 'txt' || m.ext === 'caption');
  if (captions.length === 0 && txt !== undefined) captions = [txt.data.toString('utf8').trim()];
  if (captions.length === 0 || captions.every((c) => c === '')) return { ok: false, key: id, reason: 'no caption (.txt or .json)' };
  const item: DataItem = {
    key: id, images: [{ kind: 'bytes', bytes: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength), origin: `${id}.${img.ext}` }],
    captions, ...(split !== undefined ? { split } : {}),
  };
  return { ok: true, item };
}

/** The samples of one shard in order; a broken shard ends with one failure entry naming it. */
export async function* readShard(shard: string): AsyncGenerator<SourceEntry> {
  try {
    await access(shard);
  } catch {
    yield { ok: false, key: shard, reason: 'shard not found' };
    return;
  }
  const extract = tar.extract();
  const input = createReadStream(shard);
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract);
  let key: string | null = null;
  let members: Member[] = [];
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      if (entry.header.type !== 'file') continue;
      const m = splitMemberName(entry.header.name);
      if (m.key !== key) {
        if (key !== null && members.length > 0) yield toEntry(shard, key, members);
        key = m.key;
        members = [];
      }
      members.push({ ext: m.ext, data: Buffer.concat(chunks) });
    }
    if (key !== null && members.length > 0) yield toEntry(shard, key, members);
  } catch (e) {
    // The sample being read when the archive broke is lost with the rest of the shard.
    yield { ok: false, key: key !== null ? `${shard}:${key}` : shard, reason: `broken tar: ${(e as Error).message}` };
  } finally {
    input.destroy();
  }
}

export class WebDatasetSource implements StreamSource {
  readonly kind = 'stream' as const;
  readonly textKind = 'caption' as const;
  readonly imagesPerItem = 1;

  constructor(readonly name: string, readonly shards: readonly string[], private readonly splits: Set<string> | undefined, readonly openFailures: readonly Failure[] = []) {}

  async *stream(shards: readonly string[]): AsyncGenerator<SourceEntry> {
    for (const shard of shards) {
      for await (const e of readShard(shard)) {
        if (e.ok && this.splits !== undefined && (e.item.split === undefined || !this.splits.has(e.item.split))) continue;
        yield e;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<SourceEntry> {
    return this.stream(this.shards);
  }
}

export async function openWebDataset(pattern: string, splits: Set<string> | undefined, name: string): Promise<WebDatasetSource> {
  const shards = await expandPaths(pattern, { keepMissing: true });
  if (shards.length === 0) throw new DataError(`webdataset: no shards match ${pattern}`);
  return new WebDatasetSource(name, shards, splits);
}
