/**
 * NLVR2 JSON lines (`{identifier, sentence, label: "True"|"False", directory?, left_url?, right_url?, statement_type?}`),
 * with images in the ViLT layout under a root:
 *   train: ROOT/images/train/{directory}/{id}-img0.png     dev/test1: ROOT/{split}/{id}-img0.png
 * where {id} is the identifier without its last "-N". A relative left_url/right_url wins.
 *
 *   nlvr2:nlvr2/data/train.json?images=nlvr2
 *
 * images defaults to the parent of the JSON's folder (ROOT/data/train.json -> ROOT).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DataError, type DataItem } from '../types.js';
import { imagePathUnder, isRecord, leavesRoot, MemorySource, resolveUnder, str, type Failure } from './common.js';

/** The image of one side, under the image root (null: the name climbs out of it). */
function imagePath(root: string, rec: Record<string, unknown>, identifier: string, side: 0 | 1): string | null {
  const url = str(rec, side === 0 ? 'left_url' : 'right_url');
  if (url !== undefined && url !== '' && !/^[a-z]+:\/\//i.test(url)) return imagePathUnder(root, url);
  const base = identifier.replace(/-\d+$/, '');
  const split = base.split('-')[0] ?? '';
  const dir = str(rec, 'directory');
  const file = `${base}-img${side}.png`;
  return imagePathUnder(root, split === 'train' && dir !== undefined ? join('images', 'train', dir, file) : join(split, file));
}

export async function openNlvr2(path: string, q: URLSearchParams, name: string): Promise<MemorySource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new DataError(`NLVR2 file ${path} not found`);
  }
  const root = resolveUnder(process.cwd(), q.get('images') ?? dirname(dirname(path)));
  const failures: Failure[] = [];
  const items: DataItem[] = [];
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
    const identifier = isRecord(rec) ? str(rec, 'identifier') : undefined;
    const sentence = isRecord(rec) ? str(rec, 'sentence') : undefined;
    if (!isRecord(rec) || identifier === undefined || sentence === undefined) {
      failures.push({ key: where, reason: 'needs identifier and sentence' });
      return;
    }
    const label = str(rec, 'label');
    const left = imagePath(root, rec, identifier, 0);
    const right = imagePath(root, rec, identifier, 1);
    if (left === null || right === null) {
      failures.push(leavesRoot(where, identifier));
      return;
    }
    const statementType = str(rec, 'statement_type'); // written by `flm data shapes`; NLVR2 itself has none
    items.push({
      key: identifier,
      images: [{ kind: 'path', path: left }, { kind: 'path', path: right }],
      captions: [sentence],
      split: identifier.split('-')[0] ?? '',
      meta: {
        task: 'nlvr2', identifier, label: label === undefined ? null : label === 'True' || label === 'true',
        ...(statementType !== undefined && statementType !== '' ? { statementType } : {}),
      },
    });
  });
  return new MemorySource(name, items, 'statement', failures, 2);
}
