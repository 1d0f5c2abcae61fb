/**
 * Karpathy-split JSON (COCO / Flickr30K `dataset_*.json`):
 * `{images: [{filepath?, filename, split, sentences: [{raw}], cocoid?|imgid?}]}`.
 *
 *   karpathy:data/dataset_coco.json?images=data/coco&split=train,restval
 *
 * Image path = images/filepath/filename (images defaults to the JSON's folder).
 */
import { dirname, join } from 'node:path';
import { captionsOf, isRecord, MemorySource, readJsonArray, resolveUnder, splitFilter, str, type Failure, imagePathUnder, leavesRoot } from './common.js';
import type { DataItem } from '../types.js';

export async function openKarpathy(path: string, q: URLSearchParams, name: string): Promise<MemorySource> {
  const images = await readJsonArray(path, 'images', 'Karpathy JSON');
  const root = resolveUnder(process.cwd(), q.get('images') ?? dirname(path));
  const splits = splitFilter(q);
  const items: DataItem[] = [];
  const failures: Failure[] = [];
  images.forEach((rec, i) => {
    if (!isRecord(rec)) {
      failures.push({ key: `images[${i}]`, reason: 'not an object' });
      return;
    }
    const split = str(rec, 'split');
    if (splits !== undefined && (split === undefined || !splits.has(split))) return;
    const filename = str(rec, 'filename');
    if (filename === undefined) {
      failures.push({ key: `images[${i}]`, reason: 'no filename' });
      return;
    }
    const name = join(str(rec, 'filepath') ?? '', filename);
    const file = imagePathUnder(root, name);
    if (file === null) {
      failures.push(leavesRoot(`images[${i}]`, name));
      return;
    }
    const captions = captionsOf(rec.sentences);
    const key = str(rec, 'cocoid', 'imgid', 'filename') as string;
    if (captions.length === 0) {
      failures.push({ key: file, reason: 'no sentences' });
      return;
    }
    items.push({ key, images: [{ kind: 'path', path: file }], captions, ...(split !== undefined ? { split } : {}) });
  });
  return new MemorySource(name, items, 'caption', failures);
}
