// Validation of a torch.save file before libtorch's unpickler sees it.
//
// libtorch 1.13's unpickler (torch::jit::pickle_load) trusts its input: REDUCE / TUPLE1..3 / BINPERSID
// pop an empty stack, an odd DICT / SETITEMS reads past the stack, a mark can point past the stack, a
// LONG_BINPUT id sizes the memo table, and a storage is given the byte size its pickle claims whatever
// the size of its record (so reading it reads process memory), with views (offset, sizes, strides)
// never checked against it. So every file is checked here first, in full, by simulating the pickle
// with Python's semantics (a value model, no objects built):
//   - the zip: one archive folder, no duplicate names (miniz looks names up case-insensitively), every
//     entry inside the file, stored or deflated;
//   - every opcode: only those torch.save / libtorch's pickler write (protocol 2), operands inside the
//     pickle, no pop below the top mark or an empty stack, marks and memo ids in range (no holes),
//     dicts from key/value pairs, containers nested at most MAX_DEPTH deep with no cycles (a list or
//     dict may only be filled before it is placed in another container);
//   - every global: only tensor rebuilding and plain containers (no code ever runs: os.system, eval,
//     subprocess, ... are refused by name);
//   - every storage: a record `data/<key>` that holds at least numel * itemsize bytes;
//   - every tensor view: offset, sizes and strides inside its storage.
// The native loader then runs exactly the pickle bytes checked here (not its own read of the zip), and
// checks the tensors it gets back against the records it actually read as well (ops_io.cc).

import { inflateRawSync } from 'node:zlib';

export class PickleFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleFormatError';
  }
}

const fail = (msg: string): never => {
  throw new PickleFormatError(msg);
};

// ---------------------------------------------------------------------------------------------------
// zip directory

export interface ZipRecord {
  name: string;
  /** uncompressed size: the bytes libtorch's reader hands out for this record */
  size: number;
  method: number;
  compressedSize: number;
  dataStart: number;
}

export interface TorchZip {
  /** the archive folder every record is looked up in (the first entry's top folder) */
  archive: string;
  /** by ASCII-lower-cased full name */
  records: Map<string, ZipRecord>;
}

const lowerAscii = (s: string): string => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

function u64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('zip: a 64-bit size or offset out of range');
  return Number(v);
}

/** Reads the central directory of a zip file and checks every entry lies inside the file. */
export function readTorchZip(bytes: Uint8Array): TorchZip {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 22) fail('not a zip file (too short)');
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('not a zip file (no end of central directory)');
  let count = b.readUInt16LE(eocd + 10);
  let cdSize = b.readUInt32LE(eocd + 12);
  let cdOffset = b.readUInt32LE(eocd + 16);
  // miniz (libtorch's zip reader) takes the zip64 record whenever a locator precedes the end record,
  // saturated 32-bit fields or not: so must this, or the two could read different directories
  const loc = eocd - 20;
  if (loc >= 0 && b.readUInt32LE(loc) === 0x07064b50) {
    const z = u64(b, loc + 8);
    if (z + 56 > b.length || b.readUInt32LE(z) !== 0x06064b50) fail('zip: bad zip64 end of central directory');
    count = u64(b, z + 32);
    cdSize = u64(b, z + 40);
    cdOffset = u64(b, z + 48);
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    fail('zip: zip64 sizes without a zip64 locator');
  }
  if (cdOffset + cdSize > b.length) fail('zip: central directory outside the file (truncated?)');
  const records = new Map<string, ZipRecord>();
  let archive: string | undefined;
  let at = cdOffset;
  for (let n = 0; n < count; n++) {
    if (at + 46 > cdOffset + cdSize || b.readUInt32LE(at) !== 0x02014b50) fail('zip: malformed central directory');
    const flags = b.readUInt16LE(at + 8);
    const method = b.readUInt16LE(at + 10);
    let compressedSize = b.readUInt32LE(at + 20);
    let size = b.readUInt32LE(at + 24);
    const nameLen = b.readUInt16LE(at + 28);
    const extraLen = b.readUInt16LE(at + 30);
    const commentLen = b.readUInt16LE(at + 32);
    let local = b.readUInt32LE(at + 42);
    const end = at + 46 + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize) fail('zip: malformed central directory');
    const name = b.toString('latin1', at + 46, at + 46 + nameLen);
    // zip64 extended information: the fields whose 32-bit value is 0xffffffff, in this order
    for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen; ) {
      const id = b.readUInt16LE(e);
      const len = b.readUInt16LE(e + 2);
      if (e + 4 + len > at + 46 + nameLen + extraLen) fail(`zip: malformed extra field of ${name}`);
      if (id === 0x0001) {
        let f = e + 4;
        const take = (): number => {
          if (f + 8 > e + 4 + len) fail(`zip: malformed zip64 field of ${name}`);
          const v = u64(b, f);
          f += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (local === 0xffffffff) local = take();
      }
      e += 4 + len;
    }
    if (flags & 1) fail(`zip: ${name} is encrypted`);
    if (method !== 0 && method !== 8) fail(`zip: ${name} uses compression method ${method} (only stored or deflated)`);
    if (method === 0 && compressedSize !== size) fail(`zip: ${name} is stored but its sizes differ`);
    if (local + 30 > b.length || b.readUInt32LE(local) !== 0x04034b50) fail(`zip: ${name}: local header outside the file or malformed`);
    const dataStart = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    if (dataStart + compressedSize > b.length) fail(`zip: ${name}: data outside the file (truncated?)`);
    const key = lowerAscii(name);
    if (records.has(key)) fail(`zip: duplicate entry ${name}`);
    records.set(key, { name, size, method, compressedSize, dataStart });
    if (archive === undefined) {
      const slash = name.indexOf('/');
      if (slash <= 0) fail(`zip: first entry ${name} is not inside an archive folder`);
      archive = name.slice(0, slash);
    }
    at = end;
  }
  if (archive === undefined) fail('zip: no entries');
  return { archive: archive!, records };
}

function recordBytes(bytes: Uint8Array, r: ZipRecord): Uint8Array {
  const raw = bytes.subarray(r.dataStart, r.dataStart + r.compressedSize);
  if (r.method === 0) return raw;
  let out: Buffer;
  try {
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, r.size) });
  } catch (e) {
    return fail(`zip: ${r.name}: cannot inflate (${e instanceof Error ? e.message : String(e)})`);
  }
  if (out.length !== r.size) fail(`zip: ${r.name}: inflates to ${out.length} bytes, not ${r.size}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// pickle simulation

/** Storage classes libtorch maps to a dtype flm reads, and their element sizes. */
const STORAGES: Readonly<Record<string, number>> = {
  FloatStorage: 4, DoubleStorage: 8, HalfStorage: 2, BFloat16Storage: 2, LongStorage: 8, IntStorage: 4,
  ShortStorage: 2, CharStorage: 1, ByteStorage: 1, BoolStorage: 1,
};
/** The only callables a pickle may name (libtorch's unpickler implements them without running code). */
const CALLABLES = new Set(['torch._utils._rebuild_tensor_v2', 'collections.OrderedDict', 'torch.jit._pickle.restore_type_tag']);

export const MAX_DEPTH = 64;
/** nodes of the value tree (shared subtrees counted each time), so flattening it stays bounded */
export const MAX_NODES = 1 << 22;
export const MAX_DIMS = 64;
/** bytes libtorch copies out of the records (each reference to a storage copies its record) relative to the records' own size */
export const MAX_STORAGE_READS = 16;

interface Container {
  depth: number;
  nodes: number;
  /** placed inside another container: may no longer change (so depths and sizes stay exact, and no cycle can form) */
  frozen: boolean;
}
type V =
  | { k: 'none' | 'bool' | 'float' | 'tensor' }
  | { k: 'int'; v: bigint }
  | { k: 'str'; v: string }
  | ({ k: 'tuple'; items: V[] } & Container)
  | ({ k: 'list'; items: V[] } & Container)
  | ({ k: 'dict'; keys: V[]; values: V[] } & Container)
  | { k: 'global'; name: string }
  | { k: 'storagetype'; name: string; itemsize: number }
  | { k: 'storage'; key: string; numel: bigint; itemsize: number };

const NONE: V = { k: 'none' };
const isContainer = (v: V): v is Extract<V, Container> => v.k === 'tuple' || v.k === 'list' || v.k === 'dict';
const depthOf = (v: V): number => (isContainer(v) ? v.depth : 0);
const nodesOf = (v: V): number => (isContainer(v) ? v.nodes : 1);

function describe(v: V): string {
  switch (v.k) {
    case 'none': return 'None';
    case 'dict': return 'GenericDict';
    case 'list': return 'GenericList';
    case 'tuple': return 'Tuple';
    case 'int': return 'Int';
    case 'str': return 'String';
    case 'global': return `global ${v.name}`;
    case 'storagetype': return `torch.${v.name}`;
    default: return v.k;
  }
}

export interface PickleSummary {
  /** tensors built (each _rebuild_tensor_v2) */
  tensors: number;
  /** storages referenced (each BINPERSID) */
  storages: number;
}

export interface CheckedTorchFile extends PickleSummary {
  /** the bytes of data.pkl that were checked: hand these to the unpickler, not the archive's record */
  pickle: Uint8Array;
}

/**
 * Checks a torch.save file (the whole zip) for everything libtorch's unpickler would trust.
 * Throws a PickleFormatError saying what is wrong and where; returns the checked pickle otherwise.
 */
export function checkTorchFile(bytes: Uint8Array): CheckedTorchFile {
  const zip = readTorchZip(bytes);
  const pklRecord = zip.records.get(lowerAscii(`${zip.archive}/data.pkl`));
  if (!pklRecord) fail(`zip: no ${zip.archive}/data.pkl record (not a torch.save file)`);
  const recordSize = (key: string): number | undefined => zip.records.get(lowerAscii(`${zip.archive}/data/${key}`))?.size;
  const pickle = recordBytes(bytes, pklRecord!);
  return { ...checkPickle(pickle, recordSize), pickle };
}

/**
 * Simulates a protocol-2 pickle as libtorch's unpickler would run it, with Python's stricter rules.
 * `recordSize(key)` gives the bytes of storage record `data/<key>` (undefined when absent).
 */
export function checkPickle(p: Uint8Array, recordSize: (key: string) => number | undefined): PickleSummary {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const stack: V[] = [];
  const marks: number[] = [];
  const memo: V[] = [];
  const summary: PickleSummary = { tensors: 0, storages: 0 };
  const storageRecords = new Set<string>();
  let distinctRecordBytes = 0;
  let storageBytesRead = 0;
  let pos = 0;
  let opAt = 0;
  let opName = '';

  const bad = (msg: string): never => fail(`malformed pickle: ${opName} at byte ${opAt}: ${msg}`);
  const need = (n: number): number => {
    if (pos + n > p.length) bad('truncated (the pickle ends inside an operand)');
    const at = pos;
    pos += n;
    return at;
  };
  const floor = (): number => (marks.length ? marks[marks.length - 1]! : 0);
  const pop = (): V => {
    if (stack.length <= floor()) bad(stack.length === 0 ? 'the stack is empty' : 'no value above the mark');
    return stack.pop()!;
  };
  const top = (): V => {
    if (stack.length <= floor()) bad(stack.length === 0 ? 'the stack is empty' : 'no value above the mark');
    return stack[stack.length - 1]!;
  };
  const popMark = (): V[] => {
    if (!marks.length) bad('no mark');
    const m = marks.pop()!;
    return stack.splice(m);
  };
  /** the list / dict APPENDS or SETITEMS fill: the value below the mark just popped */
  const markTarget = (): V => top();
  const freeze = (v: V): void => {
    if (v.k === 'list' || v.k === 'dict') v.frozen = true;
  };
  const container = <T extends Extract<V, Container>>(c: Omit<T, 'depth' | 'nodes' | 'frozen'>, children: V[]): T => {
    let depth = 0;
    let nodes = 1;
    for (const ch of children) {
      freeze(ch);
      depth = Math.max(depth, depthOf(ch));
      nodes += nodesOf(ch);
    }
    if (depth + 1 > MAX_DEPTH) bad(`containers nested more than ${MAX_DEPTH} deep`);
    if (nodes > MAX_NODES) bad(`more than ${MAX_NODES} values`);
    return { ...c, depth: depth + 1, nodes, frozen: false } as T;
  };
  const grow = (target: Extract<V, Container>, children: V[]): void => {
    if (target.frozen) bad(`modifies a ${describe(target)} already placed inside another container`);
    for (const ch of children) {
      if (ch === target) bad(`puts a ${describe(target)} inside itself`);
      freeze(ch);
      target.depth = Math.max(target.depth, depthOf(ch) + 1);
      target.nodes += nodesOf(ch);
    }
    if (target.depth > MAX_DEPTH) bad(`containers nested more than ${MAX_DEPTH} deep`);
    if (target.nodes > MAX_NODES) bad(`more than ${MAX_NODES} values`);
  };
  const checkKey = (k: V): void => {
    if (k.k !== 'str' && k.k !== 'int' && k.k !== 'float' && k.k !== 'bool') bad(`a dict key must be a string or a number, not ${describe(k)}`);
  };
  const setItems = (target: V, items: V[]): void => {
    if (target.k !== 'dict') bad(`Expected GenericDict but got ${describe(target)}`);
    if (items.length % 2 !== 0) bad('an odd number of values (keys and values come in pairs)');
    const d = target as Extract<V, { k: 'dict' }>;
    grow(d, items);
    for (let i = 0; i < items.length; i += 2) {
      checkKey(items[i]!);
      d.keys.push(items[i]!);
      d.values.push(items[i + 1]!);
    }
  };
  const appendItems = (target: V, items: V[]): void => {
    if (target.k !== 'list') bad(`Expected GenericList but got ${describe(target)}`);
    const l = target as Extract<V, { k: 'list' }>;
    grow(l, items);
    l.items.push(...items);
  };
  const memoPut = (id: number): void => {
    const v = top();
    if (id > memo.length) bad(`memo id ${id} leaves a hole (the memo holds ${memo.length})`);
    memo[id] = v;
  };
  const memoGet = (id: number): void => {
    if (id >= memo.length) bad(`memo id ${id} was never stored (the memo holds ${memo.length})`);
    stack.push(memo[id]!);
  };
  const asInt = (v: V | undefined, what: string): bigint => (v?.k === 'int' ? v.v : bad(`${what} must be an int, not ${v ? describe(v) : 'missing'}`));
  const asStr = (v: V | undefined, what: string): string => (v?.k === 'str' ? v.v : bad(`${what} must be a string, not ${v ? describe(v) : 'missing'}`));
  const intTuple = (v: V | undefined, what: string): bigint[] => {
    if (v?.k !== 'tuple') return bad(`${what} must be a tuple of ints, not ${v ? describe(v) : 'missing'}`);
    return v.items.map((x, i) => asInt(x, `${what}[${i}]`));
  };
  const readLine = (): string => {
    const start = pos;
    while (pos < p.length && p[pos] !== 0x0a) {
      if (pos - start > 256) bad('a global name longer than 256 bytes');
      pos++;
    }
    if (pos >= p.length) bad('truncated (no newline after a global name)');
    const s = Buffer.from(p.buffer, p.byteOffset + start, pos - start).toString('latin1');
    pos++;
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(s)) bad(`a global name must be a dotted Python identifier, not ${JSON.stringify(s)}`);
    return s;
  };

  const rebuildTensor = (arg: V): V => {
    if (arg.k !== 'tuple' || arg.items.length < 6 || arg.items.length > 7) return bad('_rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks[, metadata])');
    const [st, off, sz, str, rg, , meta] = arg.items;
    if (meta !== undefined && meta.k !== 'none' && !(meta.k === 'dict' && meta.keys.length === 0)) bad('_rebuild_tensor_v2: tensor metadata (conjugate / negative bits) is not read');
    if (st?.k !== 'storage') return bad(`_rebuild_tensor_v2: the first argument must be a storage (a persistent id), not ${st ? describe(st) : 'missing'}`);
    const offset = asInt(off, 'storage offset');
    const sizes = intTuple(sz, 'size');
    const strides = intTuple(str, 'stride');
    if (rg?.k !== 'bool') bad('_rebuild_tensor_v2: requires_grad must be a bool');
    if (sizes.length !== strides.length) bad(`size has ${sizes.length} dimensions but stride ${strides.length}`);
    if (sizes.length > MAX_DIMS) bad(`more than ${MAX_DIMS} dimensions`);
    if (offset < 0n) bad(`negative storage offset ${offset}`);
    let numel = 1n;
    let last = offset;
    sizes.forEach((s, i) => {
      const d = strides[i]!;
      if (s < 0n) bad(`negative size ${s} in dimension ${i}`);
      if (d < 0n) bad(`negative stride ${d} in dimension ${i}`);
      numel *= s;
      if (s > 0n) last += (s - 1n) * d;
    });
    const view = `view (offset ${offset}, size [${sizes.join(', ')}], stride [${strides.join(', ')}])`;
    if (numel > 0n && last >= st.numel) bad(`storage '${st.key}' holds ${st.numel} elements but the ${view} reaches element ${last}`);
    if (numel === 0n && offset > st.numel) bad(`storage '${st.key}' holds ${st.numel} elements but the ${view} starts past it`);
    summary.tensors++;
    return { k: 'tensor' };
  };

  const persistentLoad = (pid: V): V => {
    if (pid.k !== 'tuple' || pid.items.length !== 5) return bad("a persistent id must be ('storage', storage type, key, location, numel)");
    const [tag, type, keyV, locV, numelV] = pid.items;
    if (asStr(tag, 'persistent id tag') !== 'storage') bad('unknown persistent id (only storages)');
    if (type?.k !== 'storagetype') return bad(`a storage type must be a torch.*Storage global, not ${type ? describe(type) : 'missing'}`);
    const key = asStr(keyV, 'storage key');
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(key) || key.includes('..')) bad(`storage key ${JSON.stringify(key.slice(0, 64))} is not a plain record name`);
    const loc = asStr(locV, 'storage location');
    if (!/^(cpu|cuda(:\d{1,4})?)$/.test(loc)) bad(`storage location ${JSON.stringify(loc.slice(0, 64))} (only cpu and cuda are read, into CPU memory)`);
    const numel = asInt(numelV, 'storage size');
    if (numel < 0n) bad(`storage '${key}' has a negative size ${numel}`);
    const claim = numel * BigInt(type.itemsize);
    if (numel > 0n) {
      const have = recordSize(key);
      if (have === undefined) bad(`storage '${key}' has no record data/${key} in the archive`);
      if (claim > BigInt(have!)) bad(`storage '${key}' claims ${numel} ${type.name} elements (${claim} bytes) but its record data/${key} holds ${have} bytes`);
      if (!storageRecords.has(key)) {
        storageRecords.add(key);
        distinctRecordBytes += have!;
      }
      storageBytesRead += have!;
      if (storageBytesRead > MAX_STORAGE_READS * distinctRecordBytes + (1 << 20)) bad(`the storages are referenced more than ${MAX_STORAGE_READS} times over (each reference copies its record)`);
    }
    summary.storages++;
    return { k: 'storage', key, numel, itemsize: type.itemsize };
  };

  const reduce = (fn: V, arg: V): V => {
    if (fn.k !== 'global') return bad(`REDUCE needs a global callable, not ${describe(fn)}`);
    switch (fn.name) {
      case 'torch._utils._rebuild_tensor_v2':
        return rebuildTensor(arg);
      case 'collections.OrderedDict':
        // libtorch replaces the call with None (only an empty OrderedDict, a tensor's backward hooks, is read)
        if (arg.k !== 'tuple') bad('collections.OrderedDict expects a tuple of arguments');
        return NONE;
      case 'torch.jit._pickle.restore_type_tag': {
        if (arg.k !== 'tuple' || arg.items.length !== 2) return bad('restore_type_tag expects (value, type)');
        const [value, typeV] = arg.items as [V, V];
        const t = parseType(asStr(typeV, 'restore_type_tag type'), bad);
        if (t.k !== 'dict' && t.k !== 'list') bad(`restore_type_tag: ${typeToString(t)} is not a Dict or List type`);
        if (!conforms(value, t)) bad(`restore_type_tag: the value is not a ${typeToString(t)}`);
        return value;
      }
      default:
        return bad(`${fn.name} cannot be called`);
    }
  };

  if (p.length < 2 || p[0] !== 0x80 || p[1] !== 2) fail('malformed pickle: expected PROTO 2 at the start (torch.save writes pickle protocol 2)');
  pos = 2;
  for (;;) {
    if (pos >= p.length) fail('malformed pickle: truncated (no STOP)');
    opAt = pos;
    const code = p[pos++]!;
    opName = OPCODE_NAMES[code] ?? `opcode 0x${code.toString(16).padStart(2, '0')}`;
    switch (code) {
      case 0x2e: { // STOP
        if (marks.length) bad('a mark is left open');
        if (stack.length !== 1) bad(`${stack.length} values are left on the stack (expected 1)`);
        checkResult(stack[0]!, bad);
        return summary;
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x29: stack.push(container<Extract<V, { k: 'tuple' }>>({ k: 'tuple', items: [] }, [])); break; // EMPTY_TUPLE
      case 0x74: { // TUPLE
        const items = popMark();
        stack.push(container<Extract<V, { k: 'tuple' }>>({ k: 'tuple', items }, items));
        break;
      }
      case 0x85: case 0x86: case 0x87: { // TUPLE1..3
        const n = code - 0x84;
        const items: V[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(container<Extract<V, { k: 'tuple' }>>({ k: 'tuple', items }, items));
        break;
      }
      case 0x5d: stack.push(container<Extract<V, { k: 'list' }>>({ k: 'list', items: [] }, [])); break; // EMPTY_LIST
      case 0x6c: { // LIST
        const items = popMark();
        stack.push(container<Extract<V, { k: 'list' }>>({ k: 'list', items }, items));
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(markTarget(), items);
        break;
      }
      case 0x61: { // APPEND
        const item = pop();
        appendItems(top(), [item]);
        break;
      }
      case 0x7d: stack.push(container<Extract<V, { k: 'dict' }>>({ k: 'dict', keys: [], values: [] }, [])); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = popMark();
        const d = container<Extract<V, { k: 'dict' }>>({ k: 'dict', keys: [], values: [] }, []);
        setItems(d, items);
        stack.push(d);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(markTarget(), items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x71: memoPut(p[need(1)]!); break; // BINPUT
      case 0x72: memoPut(dv.getUint32(need(4), true)); break; // LONG_BINPUT
      case 0x68: memoGet(p[need(1)]!); break; // BINGET
      case 0x6a: memoGet(dv.getUint32(need(4), true)); break; // LONG_BINGET
      case 0x4e: stack.push(NONE); break; // NONE
      case 0x88: case 0x89: stack.push({ k: 'bool' }); break; // NEWTRUE, NEWFALSE
      case 0x4b: stack.push({ k: 'int', v: BigInt(p[need(1)]!) }); break; // BININT1
      case 0x4d: stack.push({ k: 'int', v: BigInt(dv.getUint16(need(2), true)) }); break; // BININT2
      case 0x4a: stack.push({ k: 'int', v: BigInt(dv.getInt32(need(4), true)) }); break; // BININT
      case 0x8a: { // LONG1
        const n = p[need(1)]!;
        if (n > 8) bad(`a ${n}-byte integer (at most 8 bytes)`);
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(p[at + i]!);
        if (n > 0 && p[at + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        stack.push({ k: 'int', v });
        break;
      }
      case 0x47: need(8); stack.push({ k: 'float' }); break; // BINFLOAT
      case 0x58: { // BINUNICODE
        const n = dv.getUint32(need(4), true);
        const at = need(n);
        stack.push({ k: 'str', v: Buffer.from(p.buffer, p.byteOffset + at, n).toString('utf8') });
        break;
      }
      case 0x63: { // GLOBAL
        const module = readLine();
        const name = readLine();
        const full = `${module}.${name}`;
        if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGES, name)) stack.push({ k: 'storagetype', name, itemsize: STORAGES[name]! });
        else if (CALLABLES.has(full)) stack.push({ k: 'global', name: full });
        else bad(`refusing global '${full}': only tensors and plain containers are read (no code runs from a pickle)`);
        break;
      }
      case 0x52: { // REDUCE
        const arg = pop();
        const fn = pop();
        stack.push(reduce(fn, arg));
        break;
      }
      case 0x51: stack.push(persistentLoad(pop())); break; // BINPERSID
      default:
        bad(`unsupported pickle opcode 0x${code.toString(16).padStart(2, '0')}${code >= 0x20 && code < 0x7f ? ` ('${String.fromCharCode(code)}')` : ''} (only the protocol-2 opcodes torch.save writes are read)`);
    }
  }
}

/** The finished value: nothing but containers, scalars and tensors (a storage outside a tensor is not read). */
function checkResult(root: V, bad: (m: string) => never): void {
  const walk = (v: V): void => {
    switch (v.k) {
      case 'tuple': case 'list': v.items.forEach(walk); break;
      case 'dict': v.values.forEach(walk); break;
      case 'storage': bad(`a bare storage ('${v.key}') outside a tensor`); break;
      case 'global': case 'storagetype': bad(`a ${describe(v)} left as a value`); break;
      default: break;
    }
  };
  walk(root);
}

// restore_type_tag types: Tensor | int | float | str | bool | Dict[str|int, T] | List[T]
type PT = { k: 'Tensor' | 'int' | 'float' | 'str' | 'bool' } | { k: 'dict'; key: 'str' | 'int'; value: PT } | { k: 'list'; item: PT };

function parseType(s: string, bad: (m: string) => never): PT {
  if (s.length > 256) bad('restore_type_tag: type string longer than 256 characters');
  let i = 0;
  const eat = (t: string): boolean => {
    if (s.startsWith(t, i)) {
      i += t.length;
      return true;
    }
    return false;
  };
  const ws = (): void => {
    while (s[i] === ' ') i++;
  };
  const one = (depth: number): PT => {
    if (depth > MAX_DEPTH) bad('restore_type_tag: type nested too deep');
    for (const k of ['Tensor', 'int', 'float', 'str', 'bool'] as const) if (eat(k)) return { k };
    if (eat('Dict[')) {
      ws();
      const key = eat('str') ? 'str' : eat('int') ? 'int' : bad(`restore_type_tag: unsupported dict key type in ${JSON.stringify(s)}`);
      ws();
      if (!eat(',')) bad(`restore_type_tag: malformed type ${JSON.stringify(s)}`);
      ws();
      const value = one(depth + 1);
      ws();
      if (!eat(']')) bad(`restore_type_tag: malformed type ${JSON.stringify(s)}`);
      return { k: 'dict', key, value };
    }
    if (eat('List[')) {
      ws();
      const item = one(depth + 1);
      ws();
      if (!eat(']')) bad(`restore_type_tag: malformed type ${JSON.stringify(s)}`);
      return { k: 'list', item };
    }
    return bad(`restore_type_tag: unsupported type ${JSON.stringify(s)}`);
  };
  const t = one(0);
  if (i !== s.length) bad(`restore_type_tag: malformed type ${JSON.stringify(s)}`);
  return t;
}

function typeToString(t: PT): string {
  if (t.k === 'dict') return `Dict[${t.key}, ${typeToString(t.value)}]`;
  if (t.k === 'list') return `List[${typeToString(t.item)}]`;
  return t.k;
}

function conforms(v: V, t: PT): boolean {
  switch (t.k) {
    case 'Tensor': return v.k === 'tensor';
    case 'int': return v.k === 'int';
    case 'float': return v.k === 'float';
    case 'str': return v.k === 'str';
    case 'bool': return v.k === 'bool';
    case 'dict': return v.k === 'dict' && v.keys.every((k) => k.k === t.key) && v.values.every((x) => conforms(x, t.value));
    case 'list': return v.k === 'list' && v.items.every((x) => conforms(x, t.item));
  }
}

const OPCODE_NAMES: Partial<Record<number, string>> = {
  0x2e: 'STOP', 0x28: 'MARK', 0x29: 'EMPTY_TUPLE', 0x74: 'TUPLE', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x5d: 'EMPTY_LIST', 0x6c: 'LIST', 0x65: 'APPENDS', 0x61: 'APPEND', 0x7d: 'EMPTY_DICT', 0x64: 'DICT', 0x75: 'SETITEMS',
  0x73: 'SETITEM', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x68: 'BINGET', 0x6a: 'LONG_BINGET', 0x4e: 'NONE',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x4b: 'BININT1', 0x4d: 'BININT2', 0x4a: 'BININT', 0x8a: 'LONG1', 0x47: 'BINFLOAT',
  0x58: 'BINUNICODE', 0x63: 'GLOBAL', 0x52: 'REDUCE', 0x51: 'BINPERSID', 0x80: 'PROTO', 0x62: 'BUILD', 0x81: 'NEWOBJ',
};
