import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, keep } from '../src/tensor/index.js';
import { loadTorchFile, saveTorchFile, PickleRefusedError } from '../src/io/torch-pickle.js';
import { cat, dictPickle, f32, op, tensorPickle, torchZip, torchZipEntries, twoDirectories, zipStored } from './torch-pickle-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'flm-pickle-'));

test('torch.save round trip through libtorch pickle', () => {
  const p = join(dir, 'sd.pt');
  saveTorchFile(p, new Map([['a.weight', keep(tensor([[1, 2], [3, 4]]))], ['a.ids', keep(tensor([5, 6], { dtype: 'int64' }))]]));
  const back = loadTorchFile(p, { allowPickle: true });
  assert.deepEqual([...back.keys()].sort(), ['a.ids', 'a.weight']);
  assert.deepEqual(back.get('a.weight')!.toArray(), [[1, 2], [3, 4]]);
  assert.equal(back.get('a.ids')!.dtype, 'int64');
});

test('unpickling is refused unless explicitly allowed', () => {
  const p = join(dir, 'sd.pt');
  assert.throws(() => loadTorchFile(p), PickleRefusedError);
});

test('corrupt and truncated files give an error, not a crash', () => {
  const bad = join(dir, 'bad.pt');
  writeFileSync(bad, 'this is not a zip file');
  assert.throws(() => loadTorchFile(bad, { allowPickle: true }), /pickleLoad/);
  const good = readFileSync(join(dir, 'sd.pt'));
  const cut = join(dir, 'cut.pt');
  writeFileSync(cut, good.subarray(0, Math.floor(good.length / 2)));
  assert.throws(() => loadTorchFile(cut, { allowPickle: true }), /pickleLoad/);
});

// ---- malformed files (crafted by hand: test/torch-pickle-fixtures.ts) ------------------------------
// libtorch's unpickler trusts its input; a file that slipped past the checks could crash the process,
// so every malformed file is loaded in a child process: a crash fails the test, not the runner.

type Case = { name: string; bytes: Uint8Array; expect: RegExp };

const LOADER = new URL('../src/io/torch-pickle.js', import.meta.url).href;
const NATIVE = new URL('../src/native/binding.js', import.meta.url).href;

/** Loads each file in one child process (`load`: loadTorchFile; `native`: the addon alone, no JS checks). */
function loadInChild(cases: Case[], mode: 'load' | 'native'): Map<string, { error?: string; names?: string[]; nonZero?: number }> {
  const files = cases.map((c, i) => {
    const f = join(dir, `case-${mode}-${i}.pt`);
    writeFileSync(f, c.bytes);
    return { name: c.name, file: f };
  });
  const script = `
    import { readFileSync } from 'node:fs';
    const { loadTorchFile } = await import(${JSON.stringify(LOADER)});
    const { native } = await import(${JSON.stringify(NATIVE)});
    for (const { name, file } of JSON.parse(process.argv[1])) {
      console.log(JSON.stringify({ start: name }));
      try {
        if (${JSON.stringify(mode)} === 'load') {
          const m = loadTorchFile(file, { allowPickle: true });
          const nonZero = [...m.values()].reduce((a, t) => a + t.toArray().flat(8).filter((x) => x !== 0).length, 0);
          console.log(JSON.stringify({ name, names: [...m.keys()], nonZero }));
        } else {
          const pairs = native.pickleLoad(readFileSync(file));
          console.log(JSON.stringify({ name, names: pairs.map((p) => p[0]) }));
        }
      } catch (e) {
        console.log(JSON.stringify({ name, error: e instanceof Error ? e.message : String(e) }));
      }
    }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(files)], { encoding: 'utf8', timeout: 120_000 });
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { start?: string; name?: string; error?: string; names?: string[]; nonZero?: number });
  const last = lines.filter((l) => l.start !== undefined).pop()?.start;
  assert.ok(r.status === 0 && r.signal === null, `the child process died (status ${r.status}, signal ${r.signal}) while loading '${last}':\n${r.stderr.slice(-2000)}`);
  return new Map(lines.filter((l) => l.name !== undefined).map((l) => [l.name!, l]));
}

function expectErrors(cases: Case[], mode: 'load' | 'native', named = true): void {
  const res = loadInChild(cases, mode);
  for (const c of cases) {
    const r = res.get(c.name);
    assert.ok(r, `${c.name}: no result`);
    assert.ok(r.error !== undefined, `${c.name}: loaded (${JSON.stringify(r)}) instead of failing`);
    assert.match(r.error, c.expect, c.name);
    if (named) assert.match(r.error, /pickleLoad: \S*case-load-\d+\.pt is not a readable torch\.save file/, c.name);
  }
}

const w4 = { '0': f32(1, 2, 3, 4) };
const tensorFile = (t: Parameters<typeof tensorPickle>[0], records: Record<string, Uint8Array> = w4): Buffer => torchZip(dictPickle([['w', tensorPickle(t)]]), records);
const prog = (...ops: Uint8Array[]): Buffer => torchZip(cat(op.proto, ...ops, op.stop));
const evil = (module: string, name: string): Buffer => prog(op.global(module, name), op.str('touch /tmp/flm-pwned'), op.tuple1, op.reduce);

test('a hand-made torch.save file loads (the fixtures are well formed)', () => {
  const res = loadInChild([{ name: 'ok', bytes: tensorFile({ key: '0', numel: 4, size: [2, 2], stride: [2, 1] }), expect: /./ }], 'load');
  assert.deepEqual(res.get('ok'), { name: 'ok', names: ['w'], nonZero: 4 });
});

test('storages are checked against the bytes of their records (no read of process memory, no crash)', () => {
  expectErrors([
    // the report: 6,144 floats claimed, 16 bytes present (converted with exit 0, values from memory)
    { name: 'overclaim', bytes: tensorFile({ key: '0', numel: 6144, size: [6144], stride: [1] }), expect: /storage '0' claims 6144 FloatStorage elements \(24576 bytes\) but its record data\/0 holds 16 bytes/ },
    // the report: a storage claiming 1 GB (SIGSEGV)
    { name: '1GB', bytes: tensorFile({ key: '0', numel: 268435456, size: [268435456], stride: [1] }), expect: /claims 268435456 FloatStorage elements \(1073741824 bytes\) but its record data\/0 holds 16 bytes/ },
    { name: 'int64 overclaim', bytes: tensorFile({ storage: 'LongStorage', key: '0', numel: 3, size: [3], stride: [1] }), expect: /claims 3 LongStorage elements \(24 bytes\)/ },
    { name: 'huge numel', bytes: tensorFile({ key: '0', numel: 2n ** 62n, size: [4], stride: [1] }), expect: /claims 4611686018427387904 FloatStorage elements/ },
    { name: 'negative numel', bytes: tensorFile({ key: '0', numel: -1, size: [0], stride: [1] }), expect: /negative size -1/ },
    { name: 'no record', bytes: tensorFile({ key: '7', numel: 4, size: [4], stride: [1] }), expect: /storage '7' has no record data\/7/ },
    { name: 'odd key', bytes: tensorFile({ key: '../version', numel: 1, size: [1], stride: [1] }), expect: /not a plain record name/ },
    { name: 'odd location', bytes: tensorFile({ key: '0', numel: 4, size: [4], stride: [1], device: 'meta' }), expect: /storage location "meta"/ },
    { name: 'unknown storage', bytes: tensorFile({ storage: 'ComplexFloatStorage', key: '0', numel: 2, size: [2], stride: [1] }), expect: /refusing global 'torch\.ComplexFloatStorage'/ },
  ], 'load');
});

test('views (offset, sizes, strides) are checked against their storage', () => {
  expectErrors([
    { name: 'too long', bytes: tensorFile({ key: '0', numel: 4, size: [4096], stride: [1] }), expect: /storage '0' holds 4 elements but the view \(offset 0, size \[4096\], stride \[1\]\) reaches element 4095/ },
    { name: 'offset', bytes: tensorFile({ key: '0', numel: 4, offset: 2, size: [3], stride: [1] }), expect: /reaches element 4/ },
    { name: 'stride', bytes: tensorFile({ key: '0', numel: 4, size: [2, 2], stride: [3, 1] }), expect: /reaches element 4/ },
    { name: 'huge stride', bytes: tensorFile({ key: '0', numel: 4, size: [2, 2], stride: [2 ** 31 - 1, 1] }), expect: /reaches element 2147483648/ },
    { name: 'negative stride', bytes: tensorFile({ key: '0', numel: 4, offset: 3, size: [4], stride: [-1] }), expect: /negative stride -1/ },
    { name: 'negative size', bytes: tensorFile({ key: '0', numel: 4, size: [-4], stride: [1] }), expect: /negative size -4/ },
    { name: 'negative offset', bytes: tensorFile({ key: '0', numel: 4, offset: -1, size: [1], stride: [1] }), expect: /negative storage offset -1/ },
    { name: 'rank mismatch', bytes: tensorFile({ key: '0', numel: 4, size: [2, 2], stride: [1] }), expect: /size has 2 dimensions but stride 1/ },
    { name: 'empty view past the end', bytes: tensorFile({ key: '0', numel: 4, offset: 9, size: [0], stride: [1] }), expect: /starts past it/ },
  ], 'load');
});

test('malformed pickles are errors naming the file, never a crash (stack, marks, memo, nesting)', () => {
  const deep = cat(...Array.from({ length: 100 }, () => op.emptyList), ...Array.from({ length: 99 }, () => Uint8Array.of(0x61))); // 100 nested lists via APPEND
  expectErrors([
    // the report: `\x80\x02R.` (SIGSEGV)
    { name: 'REDUCE on an empty stack', bytes: torchZip(Uint8Array.of(0x80, 2, 0x52, 0x2e)), expect: /malformed pickle: REDUCE at byte 2: the stack is empty/ },
    { name: 'raw 3-byte pickle, no zip', bytes: Uint8Array.of(0x80, 2, 0x52, 0x2e), expect: /not a zip file/ },
    { name: 'TUPLE1 on an empty stack', bytes: prog(op.tuple1), expect: /TUPLE1 at byte 2: the stack is empty/ },
    { name: 'TUPLE3 short', bytes: prog(op.none, op.none, op.tuple3), expect: /TUPLE3 at byte 4: the stack is empty/ },
    { name: 'BINPERSID on an empty stack', bytes: prog(op.binpersid), expect: /BINPERSID at byte 2: the stack is empty/ },
    { name: 'pop below a mark', bytes: prog(op.none, op.mark, op.tuple1), expect: /TUPLE1 at byte 4: no value above the mark/ },
    { name: 'TUPLE without a mark', bytes: prog(op.none, op.tuple), expect: /TUPLE at byte 3: no mark/ },
    { name: 'SETITEMS odd', bytes: prog(op.emptyDict, op.mark, op.str('k'), op.setitems), expect: /SETITEMS at byte \d+: an odd number of values/ },
    { name: 'DICT odd', bytes: prog(op.mark, op.str('k'), Uint8Array.of(0x64)), expect: /DICT at byte \d+: an odd number of values/ },
    { name: 'SETITEMS without a dict', bytes: prog(op.mark, op.str('k'), op.none, op.setitems), expect: /SETITEMS at byte \d+: .*the stack is empty/ },
    { name: 'SETITEMS on None', bytes: prog(op.none, op.mark, op.str('k'), op.none, op.setitems), expect: /Expected GenericDict but got None/ },
    { name: 'APPENDS on a dict', bytes: prog(op.emptyDict, op.mark, op.none, op.appends), expect: /Expected GenericList but got GenericDict/ },
    { name: 'BINGET never stored', bytes: prog(op.binget(3)), expect: /BINGET at byte 2: memo id 3 was never stored/ },
    { name: 'LONG_BINPUT 4e9', bytes: prog(op.none, op.longBinput(4_000_000_000)), expect: /LONG_BINPUT at byte 3: memo id 4000000000 leaves a hole/ },
    { name: 'BINPUT on an empty stack', bytes: prog(op.binput(0)), expect: /BINPUT at byte 2: the stack is empty/ },
    { name: 'two values left', bytes: prog(op.none, op.none), expect: /2 values are left on the stack/ },
    { name: 'nothing left', bytes: prog(), expect: /0 values are left on the stack/ },
    { name: 'open mark', bytes: prog(op.none, op.mark), expect: /a mark is left open/ },
    { name: 'no STOP', bytes: torchZip(cat(op.proto, op.none)), expect: /truncated \(no STOP\)/ },
    { name: 'truncated operand', bytes: torchZip(cat(op.proto, Uint8Array.of(0x58, 0xff, 0xff, 0xff, 0x7f, 0x41))), expect: /BINUNICODE at byte 2: truncated/ },
    { name: 'protocol 4', bytes: torchZip(Uint8Array.of(0x80, 4, 0x4e, 0x2e)), expect: /expected PROTO 2/ },
    { name: 'BUILD', bytes: prog(op.emptyDict, op.emptyDict, Uint8Array.of(0x62)), expect: /unsupported pickle opcode 0x62 \('b'\)/ },
    { name: 'nested 100 deep', bytes: prog(deep), expect: /containers nested more than 64 deep/ },
    { name: 'a list inside itself', bytes: prog(op.emptyList, op.binput(0), op.binget(0), Uint8Array.of(0x61)), expect: /puts a GenericList inside itself/ },
    { name: 'a list changed after nesting', bytes: prog(op.emptyList, op.binput(0), op.tuple1, op.binget(0), op.none, Uint8Array.of(0x61), Uint8Array.of(0x86)), expect: /modifies a GenericList already placed inside another container/ },
    { name: 'a storage type as a callable', bytes: prog(op.global('torch', 'FloatStorage'), op.emptyTuple, op.reduce), expect: /REDUCE needs a global callable, not torch\.FloatStorage/ },
    { name: 'an int as a callable', bytes: prog(op.int(0), op.emptyTuple, op.reduce), expect: /REDUCE needs a global callable, not Int/ },
    { name: 'a bare storage', bytes: torchZip(cat(op.proto, op.mark, op.str('storage'), op.global('torch', 'FloatStorage'), op.str('0'), op.str('cpu'), op.int(4), op.tuple, op.binpersid, op.stop), w4), expect: /a bare storage \('0'\) outside a tensor/ },
    { name: 'bad type tag', bytes: prog(op.global('torch.jit._pickle', 'restore_type_tag'), op.emptyDict, op.str('Dict[str, __torch__.Evil]'), op.tuple2, op.reduce), expect: /restore_type_tag: unsupported type/ },
    { name: 'type tag that lies', bytes: prog(op.global('torch.jit._pickle', 'restore_type_tag'), op.emptyDict, op.mark, op.str('k'), op.int(1), op.setitems, op.str('Dict[str, Tensor]'), op.tuple2, op.reduce), expect: /the value is not a Dict\[str, Tensor\]/ },
  ], 'load');
});

test('no code runs from a pickle: os.system, eval, subprocess, ... are refused by name', () => {
  const res = loadInChild([
    ['os', 'system'], ['posix', 'system'], ['builtins', 'eval'], ['builtins', 'exec'], ['subprocess', 'Popen'], ['subprocess', 'check_output'],
    ['torch._utils', '_rebuild_parameter'], ['__main__', 'TensorID'], ['torch.jit._pickle', 'build_tensor_from_id'],
  ].map(([m, n]) => ({ name: `${m}.${n}`, bytes: evil(m!, n!), expect: /./ })), 'load');
  for (const [name, r] of res) assert.match(r.error ?? '', new RegExp(`refusing global '${name.replace(/\./g, '\\.')}': only tensors and plain containers are read \\(no code runs from a pickle\\)`), name);
  assert.equal(res.size, 9);
  // and the addon on its own (no JS checks in front) knows no such global either
  const raw = loadInChild([{ name: 'os.system', bytes: evil('os', 'system'), expect: /./ }], 'native');
  assert.match(raw.get('os.system')!.error ?? '', /Unpickler found unknown type os\.system/);
});

test('malformed zips are errors naming the file', () => {
  const pkl = dictPickle([['w', tensorPickle({ key: '0', numel: 4, size: [4], stride: [1] })]]);
  const good = torchZip(pkl, w4);
  const cutCentral = good.subarray(0, good.length - 30);
  const dupCase = zipStored([['archive/data.pkl', pkl], ['archive/data/0', f32(1)], ['archive/DATA/0', f32(1, 2, 3, 4)], ['archive/version', Buffer.from('3\n')]]);
  const flat = zipStored([['data.pkl', pkl]]);
  const noPkl = zipStored([['archive/version', Buffer.from('3\n')]]);
  const badOffset = Buffer.from(good);
  badOffset.writeUInt32LE(0x7fffffff, badOffset.length - 22 - 46 * 3 - 'archive/data.pkl'.length - 'archive/data/0'.length - 'archive/version'.length + 42 + 46 + 'archive/data.pkl'.length); // data/0's local header offset
  expectErrors([
    { name: 'truncated', bytes: cutCentral, expect: /not a zip file|zip: / },
    { name: 'duplicate names', bytes: dupCase, expect: /zip: duplicate entry archive\/DATA\/0/ },
    { name: 'no folder', bytes: flat, expect: /first entry data\.pkl is not inside an archive folder/ },
    { name: 'no data.pkl', bytes: noPkl, expect: /no archive\/data\.pkl record/ },
    { name: 'entry outside the file', bytes: badOffset, expect: /archive\/data\/0: local header outside the file/ },
    // libtorch's zip reader follows the zip64 record: the checks must read the same directory
    { name: 'two directories', bytes: twoDirectories(torchZipEntries(pkl, w4), torchZipEntries(Uint8Array.of(0x80, 2, 0x52, 0x2e))), expect: /REDUCE at byte 2: the stack is empty/ },
  ], 'load');
});

test('the addon checks what libtorch rebuilt on its own (storage and view against the record read)', () => {
  // straight to native.pickleLoad, skipping the JS checks: still an error, never memory
  expectErrors([
    { name: 'overclaim', bytes: tensorFile({ key: '0', numel: 6144, size: [6144], stride: [1] }), expect: /tensor 'w': its storage claims 24576 bytes but its record holds 16/ },
    { name: '1GB', bytes: tensorFile({ key: '0', numel: 268435456, size: [268435456], stride: [1] }), expect: /its storage claims 1073741824 bytes but its record holds 16/ },
    { name: 'view', bytes: tensorFile({ key: '0', numel: 4, size: [4096], stride: [1] }), expect: /tensor 'w': its view \(offset, sizes, strides\) reaches past its storage of 16 bytes/ },
    { name: 'offset', bytes: tensorFile({ key: '0', numel: 4, offset: 1, size: [2, 2], stride: [2, 1] }), expect: /its view .* reaches past its storage of 16 bytes/ },
    { name: 'huge stride', bytes: tensorFile({ key: '0', numel: 4, size: [2, 2], stride: [2 ** 31 - 1, 1] }), expect: /reaches past its storage/ },
    { name: 'negative numel', bytes: tensorFile({ key: '0', numel: -1, size: [1], stride: [1] }), expect: /its storage claims \d+ bytes but its record holds 0|Storage size calculation overflowed/ },
  ], 'native', false);
});

test('the addon runs the pickle bytes it is handed (the checked ones), not its own read of the archive', () => {
  // the archive's own data.pkl is the crashing `\x80\x02R.`; the checked pickle handed over is a tensor
  const zip = join(dir, 'handed.pt');
  writeFileSync(zip, torchZip(Uint8Array.of(0x80, 2, 0x52, 0x2e), w4));
  const pkl = Buffer.from(dictPickle([['w', tensorPickle({ key: '0', numel: 4, size: [4], stride: [1] })]])).toString('base64');
  const script = `
    import { readFileSync } from 'node:fs';
    const { native } = await import(${JSON.stringify(NATIVE)});
    console.log(JSON.stringify(native.pickleLoad(readFileSync(process.argv[1]), Buffer.from(process.argv[2], 'base64')).map((p) => p[0])));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, zip, pkl], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['w']);
});

test('a torch.save layout written by Python\'s own pickler passes the checks and loads (stdlib pickle, stand-in classes)', (t) => {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return void t.skip('no /usr/bin/python3');
  // Python's pickler (memo, TUPLE2, batched SETITEMS, shared storages, strided views) with stand-ins for
  // torch's classes, so no torch is needed; one-entry containers are avoided (libtorch 1.13 lacks
  // APPEND / SETITEM)
  const script = `
import sys, types, pickle, io, zipfile, struct, collections
torch = types.ModuleType('torch'); utils = types.ModuleType('torch._utils')
sys.modules['torch'] = torch; sys.modules['torch._utils'] = utils
class FloatStorage: pass
class LongStorage: pass
FloatStorage.__module__ = LongStorage.__module__ = 'torch'; torch.FloatStorage = FloatStorage; torch.LongStorage = LongStorage
def _rebuild_tensor_v2(*a): pass
_rebuild_tensor_v2.__module__ = 'torch._utils'; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
class S:
    def __init__(self, key, cls, data, n): self.key, self.cls, self.data, self.n = key, cls, data, n
class T:
    def __init__(self, st, off, size, stride): self.a = (st, off, size, stride, False, collections.OrderedDict())
    def __reduce_ex__(self, proto): return (_rebuild_tensor_v2, self.a)
class P(pickle.Pickler):
    def persistent_id(self, o): return ('storage', o.cls, o.key, 'cpu', o.n) if isinstance(o, S) else None
s0 = S('0', FloatStorage, struct.pack('<6f', 1, 2, 3, 4, 5, 6), 6); s1 = S('1', LongStorage, struct.pack('<2q', 7, 8), 2)
obj = {'state_dict': {'a.weight': T(s0, 0, (2, 3), (3, 1)), 'a.t': T(s0, 0, (3, 2), (1, 3)), 'a.row': T(s0, 3, (3,), (1,)), 'ids': T(s1, 0, (2,), (1,))},
       'epoch': 3, 'lst': [T(s1, 1, (1,), (1,)), T(s1, 0, (2,), (1,))], 'x': 1.5, 'name': 'flm'}
b = io.BytesIO(); P(b, protocol=2).dump(obj)
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
    z.writestr('archive/data.pkl', b.getvalue()); z.writestr('archive/data/0', s0.data); z.writestr('archive/data/1', s1.data); z.writestr('archive/version', '3\\n')
`;
  const f = join(dir, 'python-layout.pt');
  const r = spawnSync(py, ['-c', script, f], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const m = loadTorchFile(f, { allowPickle: true });
  assert.deepEqual([...m.keys()], ['state_dict.a.weight', 'state_dict.a.t', 'state_dict.a.row', 'state_dict.ids', 'lst.0', 'lst.1']);
  assert.deepEqual(m.get('state_dict.a.weight')!.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(m.get('state_dict.a.t')!.toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.deepEqual(m.get('state_dict.a.row')!.toArray(), [4, 5, 6]);
  assert.deepEqual(m.get('lst.0')!.toArray(), [8]);
  assert.equal(m.get('state_dict.ids')!.dtype, 'int64');
  for (const x of m.values()) x.dispose();
});
