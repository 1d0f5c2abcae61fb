/**
 * The safetensors file format (https://github.com/huggingface/safetensors, format description in
 * its README and the checks of `SafeTensors::read_metadata`/`Metadata::validate`), independent of
 * any tensor library:
 *
 *   [u64 little-endian N][N bytes of UTF-8 JSON header, padded with spaces][raw little-endian data]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative
 * to the start of the data area) plus an optional "__metadata__" string->string map.
 *
 * Reading is lazy: `parseSafetensorsHeader` reads only the header and checks it strictly (header
 * length within the file, valid UTF-8 JSON object, unique names, known dtypes, byte sizes equal to
 * numel * dtype size, tensors tiling the data area with no overlap or gap, data area size equal to
 * what the header describes). Tensor bytes are read on demand at `dataStart + begin`.
 * Writing is atomic: a temporary file in the same directory, fsync, then rename.
 * I/O is synchronous: headers are small, and callers read tensors straight into their buffers.
 */

import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir, tempSibling } from './atomic.js';

export type SafetensorsDtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Same cap as the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to `dataStart`; `end - begin = numel * dtype size`. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in header order. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Absolute file offset of the data area (8 + header length). */
  dataStart: number;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  /** `message` should name the file; `file` is kept for programmatic use when known. */
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

function fail(file: string, problem: string): never {
  throw new SafetensorsError(`${file}: ${problem}`, file);
}

function isDtype(v: unknown): v is SafetensorsDtype {
  return typeof v === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_SIZE, v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** numel of a shape, or null if it overflows a safe integer. */
function numel(shape: readonly number[]): number | null {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** A descriptor, or a promises FileHandle (read synchronously through its `fd`). */
export type SafetensorsSource = number | FileHandle;

function fdOf(src: SafetensorsSource): number {
  return typeof src === 'number' ? src : src.fd;
}

function readAt(src: SafetensorsSource, buf: Uint8Array, position: number): number {
  const fd = fdOf(src);
  let done = 0;
  while (done < buf.length) {
    const bytesRead = readSync(fd, buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

const JSON_WS = new Set([' ', '\t', '\n', '\r']);

function skipWs(text: string, i: number): number {
  while (i < text.length && JSON_WS.has(text.charAt(i))) i++;
  return i;
}

function stringEnd(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text.charAt(j) !== '"') j += text.charAt(j) === '\\' ? 2 : 1;
  return j + 1;
}

function valueEnd(text: string, i: number): number {
  const c = text.charAt(i);
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const d = text.charAt(j);
      if (d === '"') {
        j = stringEnd(text, j);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return j;
  }
  let j = i;
  while (j < text.length && !',}]'.includes(text.charAt(j)) && !JSON_WS.has(text.charAt(j))) j++;
  return j;
}

/**
 * Keys of the top-level object of an already validated JSON text, in file order and with
 * duplicates (JSON.parse silently keeps only the last duplicate and reorders integer-like keys).
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let i = skipWs(text, 0) + 1;
  for (;;) {
    i = skipWs(text, i);
    if (i >= text.length || text.charAt(i) === '}') return keys;
    const end = stringEnd(text, i);
    keys.push(JSON.parse(text.slice(i, end)) as string);
    i = skipWs(text, end) + 1;
    i = valueEnd(text, skipWs(text, i));
    i = skipWs(text, i);
    if (text.charAt(i) === ',') i++;
  }
}

function parseHeaderJson(file: string, bytes: Uint8Array): { keys: string[]; obj: Record<string, unknown> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    fail(file, `header does not start with '{' (got ${JSON.stringify(text.slice(0, 16))}); not a safetensors file?`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    fail(file, 'header JSON is not an object');
  }
  return { keys: topLevelKeys(text), obj: parsed as Record<string, unknown> };
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    fail(file, `${METADATA_KEY} must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') {
      fail(file, `${METADATA_KEY}.${k} must be a string, got ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  return out;
}

function parseEntry(file: string, name: string, raw: unknown): SafetensorsEntry {
  const where = `tensor '${name}'`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(file, `${where}: header entry is not an object`);
  }
  const info = raw as Record<string, unknown>;
  const dtype = info['dtype'];
  if (!isDtype(dtype)) {
    fail(
      file,
      `${where}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(SAFETENSORS_DTYPE_SIZE).join(', ')})`,
    );
  }
  const shape = info['shape'];
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(file, `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const offsets = info['data_offsets'];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(file, `${where}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(file, `${where}: data_offsets end ${end} < begin ${begin}`);
  const n = numel(shape);
  const size = SAFETENSORS_DTYPE_SIZE[dtype];
  if (n === null || !Number.isSafeInteger(n * size)) {
    fail(file, `${where}: shape ${JSON.stringify(shape)} is too large`);
  }
  if (end - begin !== n * size) {
    fail(
      file,
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${n * size}`,
    );
  }
  return { name, dtype, shape: shape.slice(), begin, end };
}

/** Overlaps, holes and the size of the data area. */
function checkLayout(file: string, entries: readonly SafetensorsEntry[], dataLength: number): void {
  const last = entries.reduce<SafetensorsEntry | null>((m, e) => (m === null || e.end > m.end ? e : m), null);
  if (last !== null && last.end > dataLength) {
    fail(
      file,
      `truncated: tensor '${last.name}' ends at data byte ${last.end} but the file has only ${dataLength} data bytes ` +
        `(${last.end - dataLength} bytes missing)`,
    );
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: SafetensorsEntry | null = null;
  for (const e of sorted) {
    if (e.begin < cursor && prev !== null) {
      fail(file, `tensor '${e.name}' [${e.begin}, ${e.end}) overlaps tensor '${prev.name}' [${prev.begin}, ${prev.end})`);
    }
    if (e.begin > cursor) {
      fail(file, `data bytes [${cursor}, ${e.begin}) before tensor '${e.name}' belong to no tensor`);
    }
    cursor = e.end;
    prev = e;
  }
  if (cursor !== dataLength) {
    fail(file, `${dataLength - cursor} trailing bytes after the last tensor (data area ${dataLength}, tensors cover ${cursor})`);
  }
}

/**
 * Read and validate the header of a safetensors file of `fileSize` bytes, open as `file`
 * (a descriptor or a FileHandle). Only the header is read. `fileName` names the file in errors.
 */
export function parseSafetensorsHeader(
  file: SafetensorsSource,
  fileSize: number,
  fileName: string = `<fd ${fdOf(file)}>`,
): SafetensorsHeader {
  if (!isCount(fileSize)) fail(fileName, `invalid file size ${fileSize}`);
  if (fileSize < 8) fail(fileName, `file has ${fileSize} bytes, too small for the 8-byte header length`);
  const lenBuf = new Uint8Array(8);
  if (readAt(file, lenBuf, 0) !== 8) {
    fail(fileName, 'could not read the 8-byte header length (file shorter than its stated size)');
  }
  const headerLen = new DataView(lenBuf.buffer).getBigUint64(0, true);
  if (headerLen === 0n) fail(fileName, 'header length is 0');
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    fail(fileName, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit; not a safetensors file?`);
  }
  const n = Number(headerLen);
  if (8 + n > fileSize) {
    fail(fileName, `header length ${n} runs past the end of the ${fileSize}-byte file (truncated or not a safetensors file)`);
  }
  const headerBytes = new Uint8Array(n);
  if (readAt(file, headerBytes, 8) !== n) {
    fail(fileName, `could not read the ${n}-byte header (file shorter than its stated size)`);
  }
  const { keys, obj } = parseHeaderJson(fileName, headerBytes);

  const seen = new Set<string>();
  const entries: SafetensorsEntry[] = [];
  for (const key of keys) {
    if (seen.has(key)) fail(fileName, `duplicate entry '${key}' in header`);
    seen.add(key);
    if (key !== METADATA_KEY) entries.push(parseEntry(fileName, key, obj[key]));
  }
  const dataStart = 8 + n;
  checkLayout(fileName, entries, fileSize - dataStart);
  return { entries, metadata: parseMetadata(fileName, obj[METADATA_KEY]), dataStart };
}

/** Open `path`, parse its header, close it. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    return parseSafetensorsHeader(fd, fstatSync(fd).size, path);
  } finally {
    closeSync(fd);
  }
}

/** Read the raw little-endian bytes of one tensor. */
export function readSafetensorsEntry(
  file: SafetensorsSource,
  header: SafetensorsHeader,
  entry: SafetensorsEntry,
  fileName = `<fd ${fdOf(file)}>`,
): Uint8Array {
  const buf = new Uint8Array(entry.end - entry.begin);
  const got = readAt(file, buf, header.dataStart + entry.begin);
  if (got !== buf.length) {
    fail(fileName, `tensor '${entry.name}': read ${got} of ${buf.length} bytes (file truncated?)`);
  }
  return buf;
}

export interface SafetensorsWriteEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Little-endian element bytes, numel * dtype size long. */
  data: Uint8Array;
}

function buildHeader(
  path: string,
  entries: readonly SafetensorsWriteEntry[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(parseMetadata(path, metadata))}`);
  }
  const names = new Set<string>();
  let offset = 0;
  for (const e of entries) {
    if (e.name === METADATA_KEY) fail(path, `'${METADATA_KEY}' cannot be a tensor name`);
    if (names.has(e.name)) fail(path, `duplicate tensor name '${e.name}'`);
    names.add(e.name);
    const entry = parseEntry(path, e.name, {
      dtype: e.dtype,
      shape: [...e.shape],
      data_offsets: [offset, offset + e.data.byteLength],
    });
    const info = { dtype: entry.dtype, shape: entry.shape, data_offsets: [entry.begin, entry.end] };
    parts.push(`${JSON.stringify(e.name)}:${JSON.stringify(info)}`);
    offset = entry.end;
  }
  // Built by hand so that tensor names keep their order (JS objects move integer-like keys first).
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  padded.set(json);
  return padded;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * Write tensors (in the given order) and optional string metadata to `path` atomically:
 * `path.tmp-<pid>-<random>` is written, fsynced and renamed over `path`. The header is padded
 * with spaces to a multiple of 8 bytes, as the reference writer does.
 */
export function writeSafetensors(
  path: string,
  entries: readonly SafetensorsWriteEntry[],
  metadata?: Readonly<Record<string, string>>,
): void {
  const header = buildHeader(path, entries, metadata);
  const lenBytes = new Uint8Array(8);
  new DataView(lenBytes.buffer).setBigUint64(0, BigInt(header.length), true);

  const tmp = tempSibling(path);
  const fd = openSync(tmp, 'wx');
  let closed = false;
  try {
    writeAll(fd, lenBytes);
    writeAll(fd, header);
    for (const e of entries) writeAll(fd, e.data);
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(tmp, path);
  } catch (err) {
    try {
      if (!closed) closeSync(fd);
      unlinkSync(tmp);
    } catch {
      // keep the original error
    }
    throw err;
  }
  fsyncDir(dirname(path));
}

