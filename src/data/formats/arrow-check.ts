/**
 * Checks an Arrow IPC file before apache-arrow reads it, and a record batch's columns before their rows
 * are read. apache-arrow trusts the lengths a file states: a negative metadata length walks its stream
 * reader backwards forever, a record batch claiming 2^31 field nodes in an 800-byte file loops for
 * minutes allocating, and list offsets past the end of the data make one row a billion strings (all
 * found by `npm run fuzz`). These checks bound every length by the bytes actually there, so a crafted or
 * broken file is refused with a reason (and counted), never a hang.
 *
 * The framing is walked here (the same way apache-arrow reads it: an optional 0xFFFFFFFF continuation,
 * an int32 metadata length, a flatbuffer Message, then the body); each Message, Footer and Schema is read
 * with apache-arrow's generated flatbuffer accessors, checking every vector's length against the bytes
 * that could hold it before anything iterates over it.
 */
import type { FileHandle } from 'node:fs/promises';
import { ByteBuffer } from 'flatbuffers';
import { DataType, type Data, type Vector } from 'apache-arrow';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch as FbRecordBatch } from 'apache-arrow/fb/record-batch';
import { DictionaryBatch } from 'apache-arrow/fb/dictionary-batch';
import { Schema } from 'apache-arrow/fb/schema';
import { Field } from 'apache-arrow/fb/field';
import { Footer } from 'apache-arrow/fb/footer';

export class ArrowFormatError extends Error {
  override readonly name = 'ArrowFormatError';
}

const MAGIC = 'ARROW1';
/** An array longer than int32 offsets can address is not a ViLT-style file (nor something JS arrays hold). */
const MAX_LENGTH = 2 ** 31 - 1;
const MAX_FIELD_DEPTH = 64;

const fail = (msg: string): never => {
  throw new ArrowFormatError(msg);
};

async function readAt(h: FileHandle, pos: number, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await h.read(buf, got, n - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  if (got < n) fail(`file ends inside a read of ${n} bytes at byte ${pos}`);
  return buf;
}

const int32At = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(at, true);

/** A flatbuffer vector of `n` elements of `size` bytes must fit in the buffer it is read from. */
function checkVector(n: number, size: number, cap: number, what: string): number {
  if (!(n >= 0) || n * size > cap) fail(`${what}: ${n} entries cannot fit in ${cap} bytes of metadata`);
  return n;
}

function toLength(v: bigint | number, what: string, max = MAX_LENGTH): number {
  const n = Number(v);
  if (!(n >= 0 && n <= max)) fail(`${what} ${String(v)} is out of range [0, ${max}]`);
  return n;
}

function checkSchema(s: Schema, cap: number): void {
  checkVector(s.customMetadataLength(), 4, cap, 'schema metadata');
  checkVector(s.featuresLength(), 8, cap, 'schema features');
  // a field tree can refer back to itself: count every field visited against what the bytes can hold
  let budget = Math.floor(cap / 4);
  const visit = (f: Field, depth: number): void => {
    if (depth > MAX_FIELD_DEPTH) fail(`schema fields nest deeper than ${MAX_FIELD_DEPTH} levels`);
    if (--budget < 0) fail('schema has more fields than its bytes can hold (a field that contains itself?)');
    checkVector(f.customMetadataLength(), 4, cap, 'field metadata');
    const n = checkVector(f.childrenLength(), 4, cap, 'field children');
    for (let i = 0; i < n; i++) visit(f.children(i) ?? fail('missing child field'), depth + 1);
  };
  const n = checkVector(s.fieldsLength(), 4, cap, 'schema fields');
  for (let i = 0; i < n; i++) visit(s.fields(i) ?? fail('missing schema field'), 0);
}

function checkRecordBatch(rb: FbRecordBatch, cap: number, bodyLength: number): void {
  toLength(rb.length(), 'record batch length');
  const nodes = checkVector(rb.nodesLength(), 16, cap, 'record batch field nodes');
  for (let i = 0; i < nodes; i++) {
    const node = rb.nodes(i) ?? fail('missing field node');
    const length = toLength(node.length(), `field node ${i} length`);
    toLength(node.nullCount(), `field node ${i} null count`, length);
  }
  const buffers = checkVector(rb.buffersLength(), 16, cap, 'record batch buffers');
  for (let i = 0; i < buffers; i++) {
    const b = rb.buffers(i) ?? fail('missing buffer');
    const off = toLength(b.offset(), `buffer ${i} offset`, Number.MAX_SAFE_INTEGER);
    const len = toLength(b.length(), `buffer ${i} length`, Number.MAX_SAFE_INTEGER);
    if (off + len > bodyLength) fail(`buffer ${i} (bytes ${off}..${off + len}) lies outside the ${bodyLength}-byte message body`);
  }
  checkVector(rb.variadicBufferCountsLength(), 8, cap, 'variadic buffer counts');
}

/** Checks one message's metadata; returns its header type and body length. */
function checkMessage(meta: Uint8Array, where: string): { type: number; bodyLength: number } {
  const cap = meta.byteLength;
  const bb = new ByteBuffer(meta);
  const root = cap >= 4 ? bb.readInt32(0) : -1;
  if (root < 4 || root > cap - 4) fail(`${where}: not a flatbuffer message`);
  const m = Message.getRootAsMessage(bb);
  checkVector(m.customMetadataLength(), 4, cap, `${where}: message metadata`);
  const bodyLength = toLength(m.bodyLength(), `${where}: body length`, Number.MAX_SAFE_INTEGER);
  const type = m.headerType();
  switch (type) {
    case MessageHeader.Schema: checkSchema(m.header(new Schema()) ?? fail(`${where}: schema message without a schema`), cap); break;
    case MessageHeader.RecordBatch: checkRecordBatch(m.header(new FbRecordBatch()) ?? fail(`${where}: empty record batch message`), cap, bodyLength); break;
    case MessageHeader.DictionaryBatch: {
      const d = m.header(new DictionaryBatch()) ?? fail(`${where}: empty dictionary message`);
      checkRecordBatch(d.data() ?? fail(`${where}: dictionary without data`), cap, bodyLength);
      break;
    }
    default: fail(`${where}: message type ${type} is not a schema, dictionary or record batch`);
  }
  return { type, bodyLength };
}

/**
 * Walks the messages in [start, end); returns the header type of the message at each offset. A stream
 * starts with its schema; a file has it in the footer (apache-arrow's writer leaves it out of the body).
 * Bytes after a stream's end marker are read by apache-arrow as a next stream, so they are walked too.
 */
async function walkMessages(h: FileHandle, start: number, end: number, schemaFirst: boolean): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  let pos = start;
  let streamStart = true;
  while (pos + 4 <= end) {
    const head = await readAt(h, pos, Math.min(8, end - pos));
    let len = int32At(head, 0);
    let prefix = 4;
    if (len === -1) {
      if (head.byteLength < 8) fail(`message at byte ${pos}: cut after its continuation marker`);
      len = int32At(head, 4);
      prefix = 8;
    }
    if (len === 0) {
      // end of stream
      if (!schemaFirst) break;
      pos += prefix;
      streamStart = true;
      continue;
    }
    if (len < 0 || pos + prefix + len > end) fail(`message at byte ${pos}: metadata length ${len} does not fit in the file`);
    const { type, bodyLength } = checkMessage(await readAt(h, pos + prefix, len), `message at byte ${pos}`);
    if (schemaFirst && streamStart && type !== MessageHeader.Schema) fail(`the stream at byte ${pos} does not start with a schema`);
    streamStart = false;
    const next = pos + prefix + len + bodyLength;
    if (next > end) fail(`message at byte ${pos}: its ${bodyLength}-byte body runs past the end of the data`);
    found.set(pos, type);
    pos = next;
  }
  if (schemaFirst && found.size === 0) fail('no schema message');
  return found;
}

/** Checks the framing and metadata of the Arrow IPC file (file or stream format) open in `h`. */
export async function checkArrowFile(h: FileHandle): Promise<void> {
  const { size } = await h.stat();
  if (size < 8) fail(`${size} bytes is too short for an Arrow file`);
  const head = await readAt(h, 0, 8);
  if (Buffer.from(head.subarray(0, 6)).toString('latin1') !== MAGIC) {
    await walkMessages(h, 0, size, true); // stream format
    return;
  }
  // file format: magic, the stream's messages, the footer, its int32 length, magic
  if (size < 8 + 10) fail('file format without a footer');
  const tail = await readAt(h, size - 10, 10);
  if (Buffer.from(tail.subarray(4)).toString('latin1') !== MAGIC) fail('file format without its closing ARROW1 magic (cut short?)');
  const footerLength = int32At(tail, 0);
  if (footerLength <= 0 || footerLength > size - 18) fail(`footer length ${footerLength} does not fit in the file`);
  const footerStart = size - 10 - footerLength;
  const messages = await walkMessages(h, 8, footerStart, false);
  const bytes = await readAt(h, footerStart, footerLength);
  const cap = bytes.byteLength;
  const bb = new ByteBuffer(bytes);
  const root = bb.readInt32(0);
  if (root < 4 || root > cap - 4) fail('the footer is not a flatbuffer');
  const footer = Footer.getRootAsFooter(bb);
  checkSchema(footer.schema() ?? fail('the footer has no schema'), cap);
  checkVector(footer.customMetadataLength(), 4, cap, 'footer metadata');
  const blocks = (n: number, get: (i: number) => { offset(): bigint } | null, want: number, what: string): void => {
    for (let i = 0; i < checkVector(n, 24, cap, `footer ${what}s`); i++) {
      const at = Number((get(i) ?? fail(`missing ${what} block`)).offset());
      if (messages.get(at) !== want) fail(`footer ${what} ${i} points at byte ${at}, where no ${what} message starts`);
    }
  };
  blocks(footer.dictionariesLength(), (i) => footer.dictionaries(i), MessageHeader.DictionaryBatch, 'dictionary');
  blocks(footer.recordBatchesLength(), (i) => footer.recordBatches(i), MessageHeader.RecordBatch, 'record batch');
}

// ------------------------------------------------------------------ columns of a decoded batch

/** Why a column's data cannot be read safely (offsets outside its buffers...), or null when it can. */
function checkData(d: Data, depth = 0): string | null {
  if (depth > MAX_FIELD_DEPTH) return `nests deeper than ${MAX_FIELD_DEPTH} levels`;
  if (!(d.offset >= 0 && d.length >= 0 && d.length <= MAX_LENGTH)) return `has a bad length ${d.length}`;
  const offs = d.valueOffsets as ArrayLike<number | bigint> | undefined;
  const varlen = DataType.isBinary(d.type) || DataType.isLargeBinary(d.type) || DataType.isUtf8(d.type) || DataType.isLargeUtf8(d.type)
    || DataType.isList(d.type) || DataType.isLargeList(d.type) || DataType.isMap(d.type);
  if (varlen) {
    const need = d.offset + d.length + 1;
    if (d.length > 0 && (offs === undefined || offs.length < need)) return `holds ${d.length} values but only ${Math.max(0, (offs?.length ?? 0) - 1)} offsets`;
    if (d.length > 0 && offs !== undefined) {
      const room = d.values !== undefined && d.values !== null ? (d.values as ArrayLike<unknown>).length : (d.children[0]?.length ?? 0);
      let prev = Number(offs[d.offset]);
      if (prev < 0) return `has a negative offset ${prev}`;
      for (let i = d.offset + 1; i < need; i++) {
        const o = Number(offs[i]);
        if (!(o >= prev)) return `has offsets that go backwards (${prev} then ${o})`;
        prev = o;
      }
      if (prev > room) return `has offsets up to ${prev} but only ${room} values`;
    }
  }
  for (const c of d.children) {
    const why = checkData(c, depth + 1);
    if (why !== null) return why;
  }
  for (const dd of (d.dictionary as Vector | undefined)?.data ?? []) {
    const why = checkData(dd, depth + 1);
    if (why !== null) return why;
  }
  return null;
}

export function checkColumn(v: Vector, name: string): string | null {
  for (const d of v.data) {
    const why = checkData(d);
    if (why !== null) return `column "${name}" ${why}`;
  }
  return null;
}

const isText = (t: DataType): boolean => DataType.isUtf8(t) || DataType.isLargeUtf8(t);

/** The image column holds bytes; the caption column strings or lists of strings. */
export function checkColumnTypes(image: Vector, caption: Vector, imageCol: string, captionCol: string): string | null {
  if (!DataType.isBinary(image.type) && !DataType.isLargeBinary(image.type)) return `column "${imageCol}" is ${String(image.type)}, expected binary image bytes`;
  const c = caption.type;
  const ok = isText(c) || ((DataType.isList(c) || DataType.isLargeList(c)) && c.children[0] !== undefined && isText(c.children[0].type));
  return ok ? null : `column "${captionCol}" is ${String(c)}, expected a list of strings or a string`;
}
