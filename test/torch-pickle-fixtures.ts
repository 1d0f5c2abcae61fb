// Hand-made torch.save files for the pickle-import tests (no Python needed): a tiny pickle assembler
// (protocol 2, the opcodes torch.save writes) and a zip writer (stored entries, as torch.save writes
// them: `archive/data.pkl`, `archive/data/<key>`, `archive/version`).
import { crc32 } from 'node:zlib';

/** Pickle opcodes as bytes; `op.str('x')` etc. build the ones with arguments. */
export const op = {
  proto: Uint8Array.of(0x80, 2),
  stop: Uint8Array.of(0x2e),
  mark: Uint8Array.of(0x28),
  tuple: Uint8Array.of(0x74),
  tuple1: Uint8Array.of(0x85),
  tuple2: Uint8Array.of(0x86),
  tuple3: Uint8Array.of(0x87),
  emptyTuple: Uint8Array.of(0x29),
  emptyDict: Uint8Array.of(0x7d),
  emptyList: Uint8Array.of(0x5d),
  setitems: Uint8Array.of(0x75),
  appends: Uint8Array.of(0x65),
  reduce: Uint8Array.of(0x52),
  binpersid: Uint8Array.of(0x51),
  none: Uint8Array.of(0x4e),
  false: Uint8Array.of(0x89),
  true: Uint8Array.of(0x88),
  global: (module: string, name: string): Uint8Array => cat(Uint8Array.of(0x63), Buffer.from(`${module}\n${name}\n`)),
  str: (s: string): Uint8Array => {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return cat(Uint8Array.of(0x58), n, b);
  },
  /** BININT (signed 32-bit) */
  int: (v: number): Uint8Array => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(v, 1);
    return b;
  },
  /** LONG1 with 8 bytes (what libtorch reads) */
  long: (v: bigint): Uint8Array => {
    const b = Buffer.alloc(10);
    b[0] = 0x8a;
    b[1] = 8;
    b.writeBigInt64LE(v, 2);
    return b;
  },
  binput: (i: number): Uint8Array => Uint8Array.of(0x71, i),
  binget: (i: number): Uint8Array => Uint8Array.of(0x68, i),
  longBinput: (i: number): Uint8Array => {
    const b = Buffer.alloc(5);
    b[0] = 0x72;
    b.writeUInt32LE(i, 1);
    return b;
  },
};

export function cat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

const tupleOf = (items: Uint8Array[]): Uint8Array => cat(op.mark, ...items, op.tuple);

/** A tensor as torch.save pickles it: _rebuild_tensor_v2((storage), offset, size, stride, False, OrderedDict()). */
export function tensorPickle(o: { storage?: string; key: string; numel: number | bigint; offset?: number; size: number[]; stride: number[]; device?: string }): Uint8Array {
  const numel = typeof o.numel === 'bigint' ? op.long(o.numel) : op.int(o.numel);
  return cat(
    op.global('torch._utils', '_rebuild_tensor_v2'),
    op.mark,
    tupleOf([op.str('storage'), op.global('torch', o.storage ?? 'FloatStorage'), op.str(o.key), op.str(o.device ?? 'cpu'), numel]),
    op.binpersid,
    op.int(o.offset ?? 0),
    tupleOf(o.size.map(op.int)),
    tupleOf(o.stride.map(op.int)),
    op.false,
    op.global('collections', 'OrderedDict'),
    op.emptyTuple,
    op.reduce,
    op.tuple,
    op.reduce,
  );
}

/** A whole data.pkl: PROTO 2, a dict of (name, pickled value) pairs, STOP. */
export function dictPickle(items: Array<[string, Uint8Array]>): Uint8Array {
  return cat(op.proto, op.emptyDict, op.mark, ...items.flatMap(([k, v]) => [op.str(k), v]), op.setitems, op.stop);
}

/** A zip of stored (uncompressed) entries, in order (`base`: where the zip starts inside a bigger file). */
export function zipStored(entries: Array<[string, Uint8Array]>, base = 0): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = base;
  for (const [name, data] of entries) {
    const nameB = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(nameB.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(nameB.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, nameB, Buffer.from(data));
    centrals.push(ch, nameB);
    offset += 30 + nameB.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/**
 * Two central directories in one file: the classic end record points at `first`'s, a zip64 record
 * (which miniz, libtorch's zip reader, prefers whenever its locator is there) at `second`'s.
 */
export function twoDirectories(first: Array<[string, Uint8Array]>, second: Array<[string, Uint8Array]>): Buffer {
  const a = zipStored(first);
  const aBody = a.subarray(0, a.length - 22);
  const b = zipStored(second, aBody.length);
  const bBody = b.subarray(0, b.length - 22);
  const cd = (z: Buffer): { size: number; offset: number } => ({ size: z.readUInt32LE(z.length - 22 + 12), offset: z.readUInt32LE(z.length - 22 + 16) });
  const z64At = aBody.length + bBody.length;
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeUInt16LE(45, 12);
  rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(BigInt(second.length), 24);
  rec.writeBigUInt64LE(BigInt(second.length), 32);
  rec.writeBigUInt64LE(BigInt(cd(b).size), 40);
  rec.writeBigUInt64LE(BigInt(cd(b).offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(z64At), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([aBody, bBody, rec, locator, a.subarray(a.length - 22)]);
}

/** The entries of a torch.save zip: archive/data.pkl, the storages as archive/data/<key>, archive/version. */
export function torchZipEntries(pkl: Uint8Array, records: Record<string, Uint8Array> = {}): Array<[string, Uint8Array]> {
  return [
    ['archive/data.pkl', pkl],
    ...Object.entries(records).map(([k, v]): [string, Uint8Array] => [`archive/data/${k}`, v]),
    ['archive/version', Buffer.from('3\n')],
  ];
}

/** A torch.save zip of those entries. */
export function torchZip(pkl: Uint8Array, records: Record<string, Uint8Array> = {}): Buffer {
  return zipStored(torchZipEntries(pkl, records));
}

/** float32 values as bytes */
export const f32 = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);
