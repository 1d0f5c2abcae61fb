// Crafted-file fuzzing: valid safetensors / torch.save / webdataset tar / image files, mutated
// (structured header and pickle edits, then byte flips, truncation, insertion, extreme integers), fed
// to the real loaders. A loader may return or throw; it must not crash or hang.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import tar from 'tar-stream';
import { loadSafetensors } from '../src/io/safetensors.js';
import { loadTorchFile } from '../src/io/torch-pickle.js';
import { readShard } from '../src/data/formats/webdataset.js';
import { checkImage, loadImageTensor } from '../src/data/image.js';
import { dispose } from '../src/tensor/index.js';
import { cat, dictPickle, f32, op, torchZip } from '../test/torch-pickle-fixtures.js';
import { Rng } from './rng.js';

export const FILE_KINDS = ['safetensors', 'pickle', 'tar', 'image'] as const;

let dir: string | null = null;
function tmp(name: string): string {
  if (dir === null) {
    const d = mkdtempSync(join(tmpdir(), 'flm-fuzz-'));
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
    dir = d;
  }
  return join(dir, name);
}

// ------------------------------------------------------------------ generic byte mutations
const EXTREME_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000];

export function mutateBytes(r: Rng, input: Uint8Array, rounds = r.range(1, 4)): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  for (let k = 0; k < rounds && b.length > 0; k++) {
    const at = r.int(b.length);
    switch (r.int(7)) {
      case 0: b[at] = b[at]! ^ (1 << r.int(8)); break;
      case 1: b[at] = r.pick([0, 0xff, 0x7f, 0x80]); break;
      case 2: b = b.subarray(0, at); break; // truncate
      case 3: { const ins = Uint8Array.from({ length: r.range(1, 16) }, () => r.int(256)); b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]); break; }
      case 4: if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, r.pick(EXTREME_U32), true); break;
      case 5: { const len = r.range(1, Math.min(64, b.length - at)); b = Uint8Array.from([...b, ...b.subarray(at, at + len)]); break; } // append a copy
      default: { const len = r.range(1, Math.min(32, b.length - at)); b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]); } // delete
    }
  }
  return b;
}

// ------------------------------------------------------------------ safetensors
function safetensorsBytes(r: Rng): Uint8Array {
  const header: Record<string, unknown> = {
    a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
    b: { dtype: 'I64', shape: [2], data_offsets: [24, 40] },
    c: { dtype: 'BOOL', shape: [0], data_offsets: [40, 40] },
    __metadata__: { format: 'pt' },
  };
  const names = ['a', 'b', 'c'];
  const edits = r.range(0, 3);
  for (let k = 0; k < edits; k++) {
    const picked = header[r.pick(names)];
    const e = (picked !== null && typeof picked === 'object' ? picked : {}) as Record<string, unknown>;
    switch (r.int(8)) {
      case 0: e.dtype = r.pick(['F32', 'F64', 'F16', 'BF16', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'U64', 'x', 7, null, '']); break;
      case 1: e.shape = r.pick([[-1], [1e20], [2 ** 53], [null], [1.5], 'x', [2 ** 32, 2 ** 32], [], [0, 2 ** 62], [3, 2], [6], new Array(70).fill(1), [2 ** 31, 2]]); break;
      case 2: e.data_offsets = r.pick([[0, 2 ** 64], [-1, 23], [24, 0], [0, 1e300], 'x', [0], [0, 24, 48], [0, 24.5], [2 ** 53, 2 ** 53 + 24], [0, 16]]); break;
      case 3: header.__metadata__ = r.pick([{ k: 1 }, 'x', null, [], { ['__proto__']: 'x' }, { a: { b: 'c' } }]); break;
      case 4: header[r.pick(['__proto__', 'constructor', 'toString', ''])] = { dtype: 'F32', shape: [1], data_offsets: [40, 44] }; break;
      case 5: delete e.dtype; break;
      case 6: header[r.pick(names)] = r.pick([null, 1, 'x', [], {}]); break;
      default: e.extra = 'x';
    }
  }
  let json = JSON.stringify(header);
  if (r.chance(0.05)) json = '['.repeat(200_000) + ']'.repeat(200_000);
  if (r.chance(0.05)) json = json.replace('"a"', '"b"'); // duplicate key
  if (r.chance(0.05)) json = json.slice(0, r.int(json.length)); // cut JSON
  const h = Buffer.from(json + ' '.repeat((8 - (json.length % 8)) % 8));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(r.chance(0.08) ? r.pick([0n, 2n ** 64n - 1n, 2n ** 63n, BigInt(h.length + 1), 100_000_000n, 7n]) : BigInt(h.length));
  const data = Uint8Array.from({ length: 40 }, (_, i) => i * 37);
  let file: Uint8Array = Buffer.concat([len, h, data]);
  if (r.chance(0.5)) file = mutateBytes(r, file);
  return file;
}

// ------------------------------------------------------------------ torch.save
const i32 = (v: number): Uint8Array => op.int(Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, v)));
const tupleOf = (items: Uint8Array[]): Uint8Array => cat(op.mark, ...items, op.tuple);
function pickleInt(r: Rng, v: number | bigint): Uint8Array {
  if (typeof v === 'bigint') return op.long(BigInt.asIntN(64, v));
  return r.chance(0.2) ? op.long(BigInt(Math.trunc(v))) : i32(v);
}

function torchBytes(r: Rng): Uint8Array {
  // gentle: a valid file (2x2 float32 tensors) with exactly one change, so that most cases get past the
  // zip and pickle checks into libtorch's unpickler and the tensor rebuild
  if (r.chance(0.5)) {
    const change = r.int(6);
    const tp = (key: string): Uint8Array => cat(
      op.global('torch._utils', '_rebuild_tensor_v2'), op.mark,
      tupleOf([op.str('storage'), op.global('torch', change === 0 ? r.pick(['LongStorage', 'HalfStorage', 'BoolStorage', 'ByteStorage', 'DoubleStorage', 'BFloat16Storage']) : 'FloatStorage'),
        op.str(key), op.str('cpu'), pickleInt(r, change === 1 ? r.pick([0, 1, 3, 5, 2n ** 40n, -1]) : 4)]),
      op.binpersid,
      pickleInt(r, change === 2 ? r.pick([1, 2, 3, 4, -1, 2 ** 31 - 1]) : 0),
      tupleOf((change === 3 ? r.pick([[4], [2, 3], [1, 4], [0, 2], [2, 2, 1], [-1, 2], [2 ** 30, 4]]) : [2, 2]).map((v) => pickleInt(r, v))),
      tupleOf((change === 4 ? r.pick([[0, 0], [1, 2], [2, -1], [3, 1], [2 ** 31 - 1, 1], [2]]) : [2, 1]).map((v) => pickleInt(r, v))),
      op.false, op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce, op.tuple, op.reduce,
    );
    let pkl: Uint8Array = dictPickle([['a', tp('0')], ['b', tp(r.chance(0.8) ? '1' : '0')]]);
    const records: Record<string, Uint8Array> = { 0: f32(1, 2, 3, 4), 1: f32(5, 6, 7, 8) };
    if (change === 5) pkl = mutateBytes(r, pkl, 1);
    let zip: Uint8Array = torchZip(pkl, records);
    if (change === 5 && r.chance(0.3)) zip = mutateBytes(r, zip, 1);
    return zip;
  }
  const pickN = (): number | bigint => (r.chance(0.8) ? r.pick([0, 1, 2, 3, 4, 6, 8]) : r.pick([-1, 2 ** 31 - 1, 2n ** 62n, -(2n ** 63n), 2n ** 40n, 1000]));
  const tensorP = (key: string): Uint8Array => {
    const ndim = r.pick([0, 1, 2, 2, 3]);
    const size = Array.from({ length: ndim }, () => pickN());
    const stride = Array.from({ length: ndim }, () => (r.chance(0.8) ? r.pick([1, 2, 0, 4]) : pickN()));
    return cat(
      op.global('torch._utils', r.chance(0.95) ? '_rebuild_tensor_v2' : r.pick(['_rebuild_parameter', 'os.system', '_rebuild_tensor'])),
      op.mark,
      tupleOf([op.str('storage'), op.global('torch', r.pick(['FloatStorage', 'FloatStorage', 'LongStorage', 'BoolStorage', 'HalfStorage', 'BFloat16Storage', 'ByteStorage', 'DoubleStorage', 'Bogus'])),
        op.str(r.chance(0.9) ? key : r.pick(['../x', '', '1', key + key])), op.str(r.chance(0.9) ? 'cpu' : r.pick(['cuda', 'meta', 'cuda:0', ''])), pickleInt(r, pickN())]),
      op.binpersid,
      pickleInt(r, r.chance(0.8) ? 0 : pickN()),
      tupleOf(size.map((v) => pickleInt(r, v))),
      tupleOf(stride.map((v) => pickleInt(r, v))),
      r.chance(0.9) ? op.false : op.true,
      op.global('collections', 'OrderedDict'),
      op.emptyTuple,
      op.reduce,
      op.tuple,
      op.reduce,
    );
  };
  const n = r.range(1, 3);
  const items: Array<[string, Uint8Array]> = Array.from({ length: n }, (_, k) => [`t${k}`, tensorP(String(r.chance(0.7) ? k : 0))]);
  if (r.chance(0.2)) items.push(['nested', dictPickle([['x', tensorP('0')]]).subarray(2, -1)]);
  let pkl: Uint8Array = dictPickle(items);
  if (r.chance(0.35)) pkl = mutateBytes(r, pkl);
  const records: Record<string, Uint8Array> = {};
  for (let k = 0; k < n; k++) records[String(k)] = r.chance(0.9) ? f32(...Array.from({ length: r.pick([1, 4, 6, 8, 16]) }, (_, j) => j)) : new Uint8Array(r.pick([0, 3, 7]));
  let zip: Uint8Array = torchZip(pkl, records);
  if (r.chance(0.3)) zip = mutateBytes(r, zip);
  return zip;
}

// ------------------------------------------------------------------ images and tars
const imageCache = new Map<string, Buffer>();
async function baseImage(r: Rng): Promise<Buffer> {
  const fmt = r.pick(['png', 'jpeg', 'webp', 'gif', 'tiff'] as const);
  let b = imageCache.get(fmt);
  if (!b) {
    const raw = Buffer.alloc(12 * 10 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) % 256;
    b = await sharp(raw, { raw: { width: 12, height: 10, channels: 3 } }).toFormat(fmt).toBuffer();
    imageCache.set(fmt, b);
  }
  return b;
}

async function tarBytes(r: Rng): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((res, rej) => { pack.on('end', res); pack.on('error', rej); });
  const n = r.range(1, 3);
  for (let k = 0; k < n; k++) {
    const key = r.chance(0.9) ? `s${k}` : r.pick(['../up', '', '.hidden', 'a.b.c', 'x/'.repeat(60)]);
    pack.entry({ name: `${key}.jpg` }, await baseImage(r));
    pack.entry({ name: `${key}.txt` }, Buffer.from(r.chance(0.9) ? `caption ${k}` : '\u0000\uffff'));
    if (r.chance(0.3)) pack.entry({ name: `${key}.json` }, Buffer.from(r.pick(['{"split":"train"}', '{', 'null', '[]', '{"split":1}'])));
  }
  pack.finalize();
  await done;
  let b: Uint8Array = Buffer.concat(chunks);
  if (r.chance(0.85)) b = mutateBytes(r, b, r.range(1, 6));
  return b;
}

async function imageBytes(r: Rng): Promise<Uint8Array> {
  let b: Uint8Array = Uint8Array.from(await baseImage(r));
  // PNG: a huge width/height in IHDR (a decompression bomb must be refused, not allocated)
  if (r.chance(0.1) && b[1] === 0x50 && b.length > 24) new DataView(b.buffer).setUint32(r.pick([16, 20]), r.pick([0, 0x7fffffff, 65535, 100000]));
  if (r.chance(0.9)) b = mutateBytes(r, b, r.range(1, 5));
  return b;
}

// ------------------------------------------------------------------ one case
export async function runFileCase(seed: number, i: number): Promise<{ name: string; outcome: string; detail: string }> {
  const r = new Rng(seed ^ 0x5f11e5, i);
  const kind = r.pick(FILE_KINDS);
  const name = `file:${kind}`;
  const p = tmp(`f.${kind}`);
  let bytes: Uint8Array;
  try {
    bytes = kind === 'safetensors' ? safetensorsBytes(r) : kind === 'pickle' ? torchBytes(r) : kind === 'tar' ? await tarBytes(r) : await imageBytes(r);
    writeFileSync(p, bytes);
  } catch (e) {
    // a generator bug, not an outcome of the loaders: reported apart
    return { name, outcome: 'generator', detail: `-> ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  }
  try {
    switch (kind) {
      case 'safetensors': {
        const { tensors } = loadSafetensors(p);
        for (const t of tensors.values()) t.sum().dispose();
        dispose([...tensors.values()]);
        break;
      }
      case 'pickle': {
        const m = loadTorchFile(p, { allowPickle: true });
        for (const t of m.values()) t.toTypedArray();
        dispose([...m.values()]);
        break;
      }
      case 'tar': {
        for await (const e of readShard(p)) {
          if (e.ok) for (const img of e.item.images) await loadImageTensor(img, { size: 8 }).catch(() => undefined);
        }
        break;
      }
      default: {
        await checkImage({ kind: 'bytes', bytes, origin: 'fuzz' }).catch(() => undefined);
        await loadImageTensor(r.chance(0.5) ? { kind: 'path', path: p } : { kind: 'bytes', bytes, origin: 'fuzz' }, { size: r.pick([8, 16, 1]) });
      }
    }
    return { name, outcome: 'returned', detail: `${bytes.length} bytes` };
  } catch (e) {
    const outcome = e instanceof Error ? (e.constructor?.name ?? 'Error') : 'non-Error-throw';
    return { name, outcome, detail: `${bytes.length} bytes -> ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  }
}
