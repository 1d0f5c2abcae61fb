// Crafted Arrow IPC files that made apache-arrow hang (found by npm run fuzz): each is refused with a
// reason in openFailures, quickly, and a good file next to them still reads.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Binary, Field, List, RecordBatchReader, Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { ByteBuffer } from 'flatbuffers';
import { Message } from 'apache-arrow/fb/message';
import { RecordBatch as FbRecordBatch } from 'apache-arrow/fb/record-batch';
import { ArrowSource } from '../src/data/formats/arrow.js';
import { tempDir } from './data-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, cleanup } = await tempDir('arrow-check'));
});
after(() => cleanup());

function table(): Table {
  return new Table({
    image: vectorFromArray([Uint8Array.from([1, 2, 3]), Uint8Array.from([4, 5])], new Binary()),
    caption: vectorFromArray([['a', 'b'], ['c']], new List(new Field('item', new Utf8(), true))),
    image_id: vectorFromArray(['x', 'y'], new Utf8()),
  });
}

async function open(name: string, bytes: Uint8Array): Promise<ArrowSource> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  const t0 = Date.now();
  const src = await ArrowSource.open(path, new URLSearchParams(''), name);
  assert.ok(Date.now() - t0 < 5000, `${name}: opened in ${Date.now() - t0} ms`);
  return src;
}

async function refused(name: string, bytes: Uint8Array, reason: RegExp): Promise<void> {
  const src = await open(name, bytes);
  try {
    assert.equal(src.length, 0, name);
    assert.equal(src.openFailures.length, 1, JSON.stringify(src.openFailures));
    assert.match(src.openFailures[0]!.reason, reason);
  } finally {
    await src.close();
  }
}

/** The byte offset in `file` of the record batch message's field-node vector length. */
function nodesLengthAt(file: Uint8Array): number {
  // file format: "ARROW1\0\0", then the first record batch message: 0xFFFFFFFF, int32 length, metadata
  const meta = file.subarray(16);
  const bb = new ByteBuffer(meta);
  const rb = Message.getRootAsMessage(bb).header(new FbRecordBatch()) as FbRecordBatch;
  assert.equal(rb.nodesLength(), 4);
  const slot = rb.bb!.__offset(rb.bb_pos, 6); // RecordBatch.nodes
  return 16 + rb.bb!.__vector(rb.bb_pos + slot) - 4;
}

test('a good file reads', async () => {
  const src = await open('good.arrow', tableToIPC(table(), 'file'));
  assert.equal(src.length, 2);
  assert.deepEqual(src.openFailures, []);
  const e = await src.get(1);
  assert.ok(e.ok && e.item.captions[0] === 'c');
  await src.close();
});

test('a record batch claiming 2^26 field nodes in a few hundred bytes is refused (apache-arrow looped for minutes)', async () => {
  const bytes = tableToIPC(table(), 'file');
  new DataView(bytes.buffer, bytes.byteOffset).setInt32(nodesLengthAt(bytes), 0x04000000, true);
  await refused('nodes.arrow', bytes, /field nodes: 67108864 entries cannot fit in \d+ bytes/);
});

test('a negative metadata length after the end of a stream is refused (apache-arrow walked backwards forever)', async () => {
  const stream = tableToIPC(table(), 'stream');
  const tail = new Uint8Array(16);
  new DataView(tail.buffer).setInt32(0, -1, true);
  new DataView(tail.buffer).setInt32(4, -16777216, true);
  await refused('backwards.arrow', Buffer.concat([stream, tail]), /metadata length -16777216 does not fit/);
});

test('list offsets outside the data are refused before a row is read (one row became a billion strings)', async () => {
  for (const [name, value, reason] of [
    ['negative.arrow', -168496142, /column "caption" has a negative offset -168496142/],
    ['past-end.arrow', 1_000_000_000, /column "caption" has offsets (up to 1000000000 but only \d+ values|that go backwards)/],
  ] as const) {
    const bytes = tableToIPC(table(), 'file');
    // apache-arrow reads the offsets as a view of the file's bytes: writing through it crafts the file
    const offsets = tableFromIPC(bytes).batches[0]!.getChild('caption')!.data[0]!.valueOffsets as Int32Array;
    assert.equal(offsets.buffer, bytes.buffer);
    offsets[name === 'negative.arrow' ? 0 : 1] = value;
    const src = await open(name, bytes);
    assert.equal(src.length, 0);
    assert.match(src.openFailures.map((f) => f.reason).join('; '), reason);
    await src.close();
  }
});

test('a truncated file, a cut footer and a cache that is not a number are clear errors', async () => {
  const bytes = tableToIPC(table(), 'file');
  await refused('cut.arrow', bytes.subarray(0, bytes.length - 3), /closing ARROW1 magic/);
  const path = join(dir, 'good2.arrow');
  await writeFile(path, bytes);
  await assert.rejects(ArrowSource.open(path, new URLSearchParams('cache=abc'), 'x'), /cache must be a positive number of record batches, got 'abc'/);
  // and apache-arrow itself still reads what the checks passed
  const reader = await RecordBatchReader.from(bytes);
  assert.equal([...reader].length, 1);
});
