/**
 * JSON Lines of (image path, caption): one object per line, e.g. `{"image": "a.jpg", "caption": "..."}`.
 * The caption field may also be a list. Rows with the same image become one item with several captions.
 *
 *   jsonl:data/pairs.jsonl?images=data/img&image=file_name&caption=text&split=train
 *
 * Default field names: image|image_path|file_name|filename|filepath|path and
 * caption|captions|text|sentences|raw.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DataError } from '../types.js';
import { captionsOf, groupByImage, isRecord, MemorySource, resolveUnder, splitFilter, str, type Failure, imagePathUnder, leavesRoot } from './common.js';

export const IMAGE_FIELDS = ['image', 'image_path', 'file_name', 'filename', 'filepath', 'path', 'img'];
export const CAPTION_FIELDS = ['caption', 'captions', 'text', 'sentences', 'raw', 'sentence'];

export async function openJsonl(path: string, q: URLSearchParams, name: string): Promise<MemorySource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new DataError(`JSONL file ${path} not found`);
  }
  const root = resolveUnder(process.cwd(), q.get('images') ?? dirname(path));
  const imageFields = q.has('image') ? [q.get('image') as string] : IMAGE_FIELDS;
  const captionFields = q.has('caption') ? [q.get('caption') as string] : CAPTION_FIELDS;
  const splits = splitFilter(q);
  const failures: Failure[] = [];
  const rows: Array<{ image: string; captions: string[]; split?: string }> = [];
  text.split('\n').forEach((line, n) => {
    if (line.trim() === '') return;
    const where = `${path}:${n + 1}`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      failures.push({ key: where, reason: `invalid JSON: ${(e as Error).message}` });
      return;
    }
    if (!isRecord(rec)) {
      failures.push({ key: where, reason: 'not an object' });
      return;
    }
    const split = str(rec, 'split');
    if (splits !== undefined && (split === undefined || !splits.has(split))) return;
    const image = str(rec, ...imageFields);
    const capField = captionFields.find((f) => rec[f] !== undefined);
    const captions = capField === undefined ? [] : captionsOf(rec[capField]);
    if (image === undefined) failures.push({ key: where, reason: `no image field (${imageFields.join('|')})` });
    else if (captions.length === 0) failures.push({ key: where, reason: `no caption field (${captionFields.join('|')})` });
    else {
      const file = imagePathUnder(root, image);
      if (file === null) failures.push(leavesRoot(where, image));
      else rows.push({ image: file, captions, ...(split !== undefined ? { split } : {}) });
    }
  });
  return new MemorySource(name, groupByImage(rows), 'caption', failures);
}
