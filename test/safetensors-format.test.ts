import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import {
  MAX_HEADER_BYTES,
  SafetensorsError,
  type SafetensorsHeader,
  parseSafetensorsHeader,
  readSafetensorsEntry,
  readSafetensorsHeader,
  writeSafetensors,
} from '../src/io/safetensors-format.js';

const FIXTURE = '/work/shared/fixtures/flm-tiny/cases.safetensors';
const dir = mkdtempSync(join(tmpdir(), 'flm-safetensors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function tmpPath(): string {
  counter += 1;
  return join(dir, `t${counter}.safetensors`);
}

function bytesOf(a: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A raw file: u64 header length, the header text (unpadded unless given so), data. */
function rawFile(headerJson: string, data: Uint8Array, headerLen?: bigint): string {
  const header = new TextEncoder().encode(headerJson);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, headerLen ?? BigInt(header.length), true);
  const path = tmpPath();
  writeFileSync(path, Buffer.concat([len, header, data]));
  return path;
}

function readWithFd(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    return parseSafetensorsHeader(fd, readFileSync(path).length, path);
  } finally {
    closeSync(fd);
  }
}

function expectError(path: string, pattern: RegExp): void {
  assert.throws(
    () => readWithFd(path),
    (e: unknown) => e instanceof SafetensorsError && pattern.test(e.message) && e.message.startsWith(path),
    `expected SafetensorsError matching ${pattern}`,
  );
}

describe('writeSafetensors + parseSafetensorsHeader round trip', () => {
  const f32 = new Float32Array([1.5, -2, 3.25, 4, 5, 6]);
  const i64 = new BigInt64Array([7n, -8n, 9n]);
  const entries = [
    { name: 'weight', dtype: 'F32' as const, shape: [2, 3], data: bytesOf(f32) },
    { name: 'ids', dtype: 'I64' as const, shape: [3], data: bytesOf(i64) },
    { name: '10', dtype: 'BOOL' as const, shape: [2], data: new Uint8Array([1, 0]) },
    { name: '2', dtype: 'U8' as const, shape: [0, 4], data: new Uint8Array(0) },
    { name: 'loss', dtype: 'F32' as const, shape: [], data: bytesOf(new Float32Array([0.25])) },
  ];

  it('writes a file the parser reads back exactly, in the given order', () => {
    const path = tmpPath();
    writeSafetensors(path, entries, { format: 'pt', note: 'héllo' });
    const h = readWithFd(path);
    assert.deepEqual(
      h.entries.map((e) => [e.name, e.dtype, e.shape, e.begin, e.end]),
      [
        ['weight', 'F32', [2, 3], 0, 24],
        ['ids', 'I64', [3], 24, 48],
        ['10', 'BOOL', [2], 48, 50],
        ['2', 'U8', [0, 4], 50, 50],
        ['loss', 'F32', [], 50, 54],
      ],
    );
    assert.deepEqual(h.metadata, { format: 'pt', note: 'héllo' });
    assert.equal(h.dataStart % 8, 0, 'header padded to a multiple of 8');
    const file = readFileSync(path);
    assert.equal(file.length, h.dataStart + 54);
    const headerText = file.subarray(8, h.dataStart).toString('utf8');
    assert.match(headerText, /^\{"__metadata__":\{"format":"pt","note":"héllo"\},"weight":/);
    assert.match(headerText, /\} *$/);
    const fd = openSync(path, 'r');
    try {
      for (const [i, e] of h.entries.entries()) {
        assert.deepEqual(readSafetensorsEntry(fd, h, e, path), entries[i]?.data);
      }
    } finally {
      closeSync(fd);
    }
  });

  it('pads the header with spaces to a multiple of 8 bytes', () => {
    const unpadded = new Set<number>();
    for (let len = 1; len <= 8; len++) {
      const path = tmpPath();
      writeSafetensors(path, [{ name: 'x'.repeat(len), dtype: 'U8', shape: [1], data: new Uint8Array([len]) }]);
      const file = readFileSync(path);
      const n = Number(file.readBigUInt64LE(0));
      const text = file.subarray(8, 8 + n).toString('utf8');
      assert.equal(n % 8, 0, `header length ${n}`);
      assert.match(text, /^\{.*\} {0,7}$/);
      unpadded.add(text.trimEnd().length % 8);
      assert.equal(readSafetensorsHeader(path).dataStart, 8 + n);
    }
    assert.equal(unpadded.size, 8, 'JSON lengths cover every remainder, so padding was exercised');
  });

  it('accepts a FileHandle and reads by path', async () => {
    const path = tmpPath();
    writeSafetensors(path, entries);
    const fh = await open(path, 'r');
    try {
      const h = parseSafetensorsHeader(fh, (await fh.stat()).size, path);
      assert.equal(h.entries.length, 5);
      assert.deepEqual(h.metadata, {});
      assert.deepEqual(new Float32Array(readSafetensorsEntry(fh, h, h.entries[0]!).buffer), f32);
    } finally {
      await fh.close();
    }
    assert.equal(readSafetensorsHeader(path).entries[1]?.name, 'ids');
  });

  it('replaces an existing file and leaves no temporary file', () => {
    const path = tmpPath();
    writeFileSync(path, 'old contents');
    writeSafetensors(path, entries.slice(0, 1));
    assert.equal(readSafetensorsHeader(path).entries.length, 1);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });

  it('refuses inconsistent entries without touching the target', () => {
    const path = tmpPath();
    const wrong = [{ name: 'w', dtype: 'F32' as const, shape: [2, 2], data: new Uint8Array(12) }];
    assert.throws(() => writeSafetensors(path, wrong), /needs 16/);
    assert.throws(() => writeSafetensors(path, [entries[0]!, entries[0]!]), /duplicate tensor name 'weight'/);
    assert.throws(() => writeSafetensors(path, [{ ...entries[0]!, name: '__metadata__' }]), /cannot be a tensor name/);
    assert.equal(existsSync(path), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });
});

describe('reading the flm-tiny fixture', () => {
  const h = readSafetensorsHeader(FIXTURE);
  const byName = new Map(h.entries.map((e) => [e.name, e]));

  it('lists the tensors documented in the fixture README', () => {
    const expect: [string, string, number[]][] = [
      ['input.image', 'F32', [3, 3, 32, 32]],
      ['input.text_ids', 'I64', [3, 12]],
      ['input.text_masks', 'I64', [3, 12]],
      ['input.text_labels_lm', 'I64', [3, 11]],
      ['input.bi_mask.corr', 'F32', [3, 1, 12, 24]],
      ['flm.aux.l2r_logits', 'F32', [3, 10, 64]],
      ['flm.aux.l2r_loss', 'F32', []],
    ];
    for (const [name, dtype, shape] of expect) {
      const e = byName.get(name);
      assert.ok(e !== undefined, `missing ${name}`);
      assert.equal(e.dtype, dtype, name);
      assert.deepEqual(e.shape, shape, name);
    }
    assert.equal(h.metadata['preset'], 'tiny');
    assert.equal(h.metadata['seed'], '0');
  });

  it('reads tensor bytes lazily at dataStart + begin', () => {
    const fd = openSync(FIXTURE, 'r');
    try {
      const read = (name: string): Uint8Array => readSafetensorsEntry(fd, h, byName.get(name)!, FIXTURE);
      const masks = new BigInt64Array(read('input.text_masks').buffer);
      const lengths = [0, 1, 2].map((r) => masks.subarray(r * 12, r * 12 + 12).reduce((a, b) => a + b, 0n));
      assert.deepEqual(lengths, [12n, 7n, 4n], 'caption lengths incl. <s>/</s> from the README');
      const ids = new BigInt64Array(read('input.text_ids').buffer);
      assert.equal(ids[0], 0n, '<s>');
      assert.equal(ids[11], 2n, '</s> of the full-length row');
      assert.equal(ids[12 + 7], 1n, 'first <pad> of row 1');
      const loss = new Float32Array(read('flm.aux.l2r_loss').buffer)[0] ?? NaN;
      assert.ok(Math.abs(loss - 4.58) < 0.005, `l2r loss ${loss} (README max abs value 4.58)`);
    } finally {
      closeSync(fd);
    }
  });
});

describe('corrupted files', () => {
  const good = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}';
  const data12 = new Uint8Array(12);

  it('accepts the uncorrupted baseline', () => {
    assert.equal(readWithFd(rawFile(good, data12)).entries.length, 2);
  });

  it('detects a truncated data area', () => {
    expectError(rawFile(good, data12.subarray(0, 10)), /truncated: tensor 'b' ends at data byte 12 but the file has only 10 data bytes \(2 bytes missing\)/);
  });

  it('detects trailing bytes', () => {
    expectError(rawFile(good, new Uint8Array(16)), /4 trailing bytes/);
  });

  it('detects a header length past the end of the file', () => {
    expectError(rawFile(good, data12, 5000n), /header length 5000 runs past the end/);
  });

  it('detects an absurd header length', () => {
    expectError(rawFile(good, data12, BigInt(MAX_HEADER_BYTES) + 1n), /exceeds the 100000000-byte limit/);
  });

  it('detects a file too small for the length prefix', () => {
    const path = tmpPath();
    writeFileSync(path, new Uint8Array(5));
    expectError(path, /too small/);
  });

  it('detects invalid JSON and non-JSON headers', () => {
    expectError(rawFile('{"a": {"dtype": "F32",', data12), /not valid JSON/);
    expectError(rawFile('[1, 2]  ', data12), /does not start with '\{'/);
    expectError(rawFile('{"a":\u00ff}', data12), /not valid JSON/);
  });

  it('detects invalid UTF-8 in the header', () => {
    const path = tmpPath();
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, 4n, true);
    writeFileSync(path, Buffer.concat([len, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])]));
    expectError(path, /not valid UTF-8/);
  });

  it('detects overlapping tensors', () => {
    const h = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expectError(rawFile(h, new Uint8Array(8)), /tensor 'b' \[4, 8\) overlaps tensor 'a' \[0, 8\)/);
  });

  it('detects bytes that belong to no tensor', () => {
    const h = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expectError(rawFile(h, new Uint8Array(8)), /data bytes \[0, 4\) before tensor 'a' belong to no tensor/);
  });

  it('detects sizes that disagree with dtype and shape', () => {
    const h = '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}';
    expectError(rawFile(h, new Uint8Array(8)), /span 8 bytes but F32 \[3\] needs 12/);
  });

  it('detects duplicate names', () => {
    const h = '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    expectError(rawFile(h, new Uint8Array(2)), /duplicate entry 'a'/);
  });

  it('detects malformed entries and metadata', () => {
    expectError(rawFile('{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)), /unsupported dtype "Q4"/);
    expectError(rawFile('{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', new Uint8Array(1)), /shape must be/);
    expectError(rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', new Uint8Array(1)), /end 0 < begin 1/);
    expectError(rawFile('{"__metadata__":{"k":1}}', new Uint8Array(0)), /__metadata__.k must be a string/);
  });
});
