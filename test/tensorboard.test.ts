// TensorBoard event files read back by a decoder written here, independently of the writer: the
// TFRecord framing with both checksums (a bitwise CRC-32C, not the writer's table), and the Event /
// Summary / SessionLog messages with a minimal protobuf wire-format reader (not protobufjs). The
// numbers must be those of the run's metrics.jsonl, and a crashed and resumed run must read as one
// series without a step twice once TensorBoard's purge rule is applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { crc32c, maskedCrc32c } from '../src/io/crc32c.js';
import { tfRecord } from '../src/io/tfrecord.js';
import { pretrain, PRETRAIN_DEFAULTS, type PretrainConfig } from '../src/tasks/pretrain/recipe.js';
import { program } from '../src/cli/main.js';

// ---- the independent decoder ----

/** CRC-32C bit by bit (reflected Castagnoli polynomial), no table. */
function bitwiseCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const mask = (crc: number): number => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

/** The records of a TFRecord file, each checked against its length and data checksums. */
function readRecords(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    assert.ok(at + 12 <= buf.length, `torn record header at byte ${at}`);
    const lenBytes = buf.subarray(at, at + 8);
    assert.equal(buf.readUInt32LE(at + 8), mask(bitwiseCrc32c(lenBytes)), `length checksum of the record at byte ${at}`);
    const len = Number(buf.readBigUInt64LE(at));
    const data = buf.subarray(at + 12, at + 12 + len);
    assert.equal(data.length, len, `torn record at byte ${at}`);
    assert.equal(buf.readUInt32LE(at + 12 + len), mask(bitwiseCrc32c(data)), `data checksum of the record at byte ${at}`);
    out.push(data);
    at += 12 + len + 4;
  }
  return out;
}

type WireValue = { wire: 0; v: bigint } | { wire: 1; bytes: Buffer } | { wire: 2; bytes: Buffer } | { wire: 5; bytes: Buffer };

/** Protobuf wire format: (field number, value) pairs of one message. */
function fieldsOf(msg: Buffer): [number, WireValue][] {
  const out: [number, WireValue][] = [];
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = msg[at++];
      assert.ok(b !== undefined, 'truncated varint');
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < msg.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push([field, { wire, v: varint() }]);
    else if (wire === 1) out.push([field, { wire, bytes: msg.subarray(at, (at += 8)) }]);
    else if (wire === 5) out.push([field, { wire, bytes: msg.subarray(at, (at += 4)) }]);
    else if (wire === 2) {
      const n = Number(varint());
      out.push([field, { wire, bytes: msg.subarray(at, (at += n)) }]);
    } else assert.fail(`unexpected wire type ${wire}`);
  }
  return out;
}

interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  sessionStatus?: number;
  scalars?: Record<string, number>;
}

/** event.proto: wall_time 1 (double), step 2 (int64), file_version 3, summary 5, session_log 6. */
function decodeEvent(msg: Buffer): DecodedEvent {
  const e: DecodedEvent = { wallTime: NaN, step: 0 };
  for (const [f, v] of fieldsOf(msg)) {
    if (f === 1 && v.wire === 1) e.wallTime = v.bytes.readDoubleLE(0);
    else if (f === 2 && v.wire === 0) e.step = Number(BigInt.asIntN(64, v.v));
    else if (f === 3 && v.wire === 2) e.fileVersion = v.bytes.toString('utf8');
    else if (f === 5 && v.wire === 2) {
      // Summary: repeated Value value = 1; Value: tag 1, simple_value 2 (float)
      e.scalars = {};
      for (const [sf, sv] of fieldsOf(v.bytes)) {
        assert.ok(sf === 1 && sv.wire === 2, `unexpected Summary field ${sf}`);
        let tag: string | undefined;
        let value: number | undefined;
        for (const [vf, vv] of fieldsOf(sv.bytes)) {
          if (vf === 1 && vv.wire === 2) tag = vv.bytes.toString('utf8');
          else if (vf === 2 && vv.wire === 5) value = vv.bytes.readFloatLE(0);
        }
        assert.ok(tag !== undefined && value !== undefined, 'a summary value without tag or simple_value');
        e.scalars[tag] = value;
      }
    } else if (f === 6 && v.wire === 2) {
      e.sessionStatus = 0;
      for (const [lf, lv] of fieldsOf(v.bytes)) if (lf === 1 && lv.wire === 0) e.sessionStatus = Number(lv.v);
    } else assert.fail(`unexpected Event field ${f} (wire ${v.wire})`);
  }
  return e;
}

const eventFilesIn = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.')).sort();
const readEvents = (path: string): DecodedEvent[] => readRecords(readFileSync(path)).map(decodeEvent);

/**
 * What TensorBoard shows for a folder: its files in name order, each tag's points by step, a SessionLog
 * START at step s dropping every point at s or later read before it (its purge of orphaned data).
 */
function tensorboardView(dir: string): Map<string, Map<number, number>> {
  const view = new Map<string, Map<number, number>>();
  for (const f of eventFilesIn(dir)) {
    for (const e of readEvents(join(dir, f))) {
      if (e.sessionStatus === 1) for (const pts of view.values()) for (const s of [...pts.keys()]) if (s >= e.step) pts.delete(s);
      for (const [tag, v] of Object.entries(e.scalars ?? {})) {
        const pts = view.get(tag) ?? new Map<number, number>();
        assert.ok(!pts.has(e.step), `${tag} at step ${e.step} twice in what TensorBoard would show`);
        view.set(tag, pts.set(e.step, v));
      }
    }
  }
  return view;
}

/** metrics.jsonl as the same tag -> step -> float32 value map. */
function metricsView(dir: string): Map<string, Map<number, number>> {
  const view = new Map<string, Map<number, number>>();
  for (const line of readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')) {
    const rec = JSON.parse(line) as Record<string, unknown> & { step: number };
    const split = typeof rec.split === 'string' ? rec.split : 'train';
    for (const [k, v] of Object.entries(rec)) {
      if (k === 'step' || typeof v !== 'number') continue;
      const tag = `${split}/${k}`;
      view.set(tag, (view.get(tag) ?? new Map<number, number>()).set(rec.step, Math.fround(v)));
    }
  }
  return view;
}

// ---- the tests ----

test('CRC-32C: the known check values, the bitwise reference on random data, and the masked form', () => {
  const vectors: [Uint8Array, number][] = [
    [Buffer.from('123456789'), 0xe3069283],
    [new Uint8Array(32), 0x8a9136aa], // RFC 3720 B.4
    [new Uint8Array(32).fill(0xff), 0x62a8ab43],
    [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    [new Uint8Array(0), 0],
  ];
  for (const [data, want] of vectors) {
    assert.equal(bitwiseCrc32c(data), want, 'the test\'s own CRC');
    assert.equal(crc32c(data), want);
  }
  for (let n = 0; n < 300; n += 7) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n * 17) & 0xff);
    assert.equal(crc32c(data), bitwiseCrc32c(data));
    assert.equal(maskedCrc32c(data), mask(bitwiseCrc32c(data)));
  }
  // a framed record reads back, and a flipped bit is caught by the checksum
  const rec = tfRecord(Buffer.from('hello'));
  assert.deepEqual(readRecords(rec).map(String), ['hello']);
  rec[13]! ^= 1;
  assert.throws(() => readRecords(rec), /data checksum/);
});

const base = (out: string): PretrainConfig => ({
  ...PRETRAIN_DEFAULTS, objective: 'flm', preset: 'tiny', data: 'shapes:train?n=48&seed=3', out, valData: 'shapes:val?n=8&seed=3', evalEvery: 3,
  steps: 6, batchSize: 4, microBatch: 4, logEvery: 1, saveEvery: 3, keepLast: 3, threads: 1, workers: 0, lr: 5e-4, warmup: 1,
});

test('a training run writes every metrics.jsonl number as a TensorBoard scalar', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'flm-tb-'));
  const t0 = Date.now() / 1000;
  await pretrain(base(out), { quiet: true });
  const files = eventFilesIn(out);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^events\.out\.tfevents\.\d{10}\.\S+$/);
  const events = readEvents(join(out, files[0]!));
  assert.equal(events[0]!.fileVersion, 'brain.Event:2');
  for (const e of events) assert.ok(e.wallTime >= t0 - 1 && e.wallTime <= Date.now() / 1000 + 1, `wall time ${e.wallTime}`);
  const tb = tensorboardView(out);
  const jsonl = metricsView(out);
  assert.deepEqual([...tb.keys()].sort(), [...jsonl.keys()].sort());
  assert.deepEqual(tb, jsonl);
  for (const tag of ['train/loss', 'train/lr', 'train/tokens_per_s', 'train/flm', 'val/val_loss']) assert.ok(tb.has(tag), `no ${tag}`);
  assert.deepEqual([...tb.get('train/loss')!.keys()], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...tb.get('val/val_loss')!.keys()], [3, 6]);
  t.diagnostic(await checkWithPythonTensorBoard(out, jsonl));
});

test('a crashed run resumed from its checkpoint: a second event file, no step shown twice; a new run starts over; --no-tensorboard', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'flm-tb-resume-'));
  // killed after logging step 5, past its step-3 checkpoint
  await assert.rejects(pretrain(base(out), { quiet: true, hooks: { onLog: (r) => { if (r.step === 5) throw new Error('killed'); } } }), /killed/);
  const [first] = eventFilesIn(out);
  assert.deepEqual([...tensorboardView(out).get('train/loss')!.keys()], [1, 2, 3, 4, 5]);
  await pretrain(base(out), { quiet: true, resume: true });
  const files = eventFilesIn(out);
  assert.equal(files.length, 2);
  assert.equal(files[0], first, 'the resumed run\'s file sorts after the first one');
  const second = readEvents(join(out, files[1]!));
  assert.equal(second[0]!.fileVersion, 'brain.Event:2');
  assert.deepEqual([second[1]!.sessionStatus, second[1]!.step], [1, 4], 'a SessionLog START at the first step after the checkpoint');
  const tb = tensorboardView(out);
  assert.deepEqual([...tb.get('train/loss')!.keys()].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(tb, metricsView(out));
  t.diagnostic(await checkWithPythonTensorBoard(out, metricsView(out)));

  // a new run in the same folder (--overwrite: it holds checkpoints) replaces the old event files, as it replaces metrics.jsonl
  await pretrain({ ...base(out), steps: 2, valData: null }, { quiet: true, overwrite: true });
  assert.equal(eventFilesIn(out).length, 1);
  assert.deepEqual([...tensorboardView(out).get('train/loss')!.keys()], [1, 2]);
  // --no-tensorboard: none at all
  const off = mkdtempSync(join(tmpdir(), 'flm-tb-off-'));
  await pretrain({ ...base(off), steps: 2, valData: null, tensorboard: false }, { quiet: true });
  assert.deepEqual(eventFilesIn(off), []);
  assert.ok(readFileSync(join(off, 'metrics.jsonl'), 'utf8').trim().split('\n').length === 2);
});

test('every training command has --no-tensorboard', () => {
  const root = program();
  const finetune = root.commands.find((c) => c.name() === 'finetune')!;
  const commands = [root.commands.find((c) => c.name() === 'pretrain')!, ...finetune.commands];
  assert.ok(commands.length >= 5);
  for (const c of commands) assert.ok(c.options.some((o) => o.long === '--no-tensorboard'), `${c.name()} has no --no-tensorboard`);
});

/** Reads the folder with TensorBoard's own loader when python3 has the tensorboard package; says which. */
async function checkWithPythonTensorBoard(dir: string, want: Map<string, Map<number, number>>): Promise<string> {
  const script = [
    'import json, sys',
    'from tensorboard.backend.event_processing import event_accumulator as ea',
    'acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0}); acc.Reload()',
    'print(json.dumps({t: [[s.step, s.value] for s in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
  if (r.error || /No module named 'tensorboard'/.test(r.stderr)) return 'python3 has no tensorboard package: TensorBoard\'s own reader skipped';
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, [number, number][]>;
  const view = new Map(Object.entries(got).map(([tag, pts]) => [tag, new Map(pts)]));
  assert.deepEqual(view, want);
  return 'read back by TensorBoard\'s EventAccumulator too';
}
