// Bad calls: each must throw a TorchError whose message starts with the op's name, leave the process
// alive (they all run in this one process) and leak no tensor handles.
import { settledTensorCount } from './tensor-helpers.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F, Tensor, TorchError, arange, bernoulli, binomial, cudaAvailable, eye, full, linspace, manualSeed, memory, multinomial, ones,
  randint, randn, randperm, scalar, setRngState, getRngState, tensor, tidy, zeros, zerosLike, type DType, type Device,
} from '../src/tensor/index.js';

const i64 = (d: number[] | number[][]): Tensor => tensor(d, { dtype: 'int64' });
const disposed = (): Tensor => {
  const t = ones([2, 2]);
  t.dispose();
  return t;
};

// [op named in the error, the bad call, optional pattern the message must also match]
const BAD: [string, () => unknown, RegExp?][] = [
  ['tensor', () => tensor([2 ** 31], { dtype: 'int32' }), /2147483648 is out of the int32 range/],
  ['tensor', () => tensor([[1, 300]], { dtype: 'uint8' }), /300 is out of the uint8 range/],
  ['matmul', () => randn([2, 3]).matmul(randn([4, 5])), /cannot be multiplied/],
  ['mm', () => randn([3]).mm(randn([3]))],
  ['bmm', () => randn([2, 3, 4]).bmm(randn([3, 4, 2]))],
  ['reshape', () => randn([2, 3]).reshape(4, 2), /invalid for input of size 6/],
  ['view', () => randn([3, 4]).transpose(0, 1).view(12), /reshape/],
  ['add', () => disposed().add(1), /used after dispose/],
  ['add', () => ones([2]).add(ones([3])), /must match/],
  ['indexSelect', () => randn([3, 2]).indexSelect(0, i64([5])), /out of range/],
  ['gather', () => randn([3, 2]).gather(1, i64([[0, 7]])), /out of bounds/],
  ['embedding', () => F.embedding(i64([10]), randn([4, 3])), /out of range/],
  ['embedding', () => F.embedding(tensor([1]), randn([4, 3])), /int64 or int32/],
  ['embedding', () => F.embedding(i64([1]), randn([4, 3]), 4), /paddingIdx/],
  ['crossEntropy', () => F.crossEntropy(randn([2, 3]), tensor([1, 2])), /Long/],
  ['crossEntropy', () => F.crossEntropy(randn([2, 3]), i64([0, 7])), /out of bounds/],
  ['crossEntropy', () => F.crossEntropy(randn([2, 3]), i64([0, 1]), { labelSmoothing: 1.5 }), /smoothing/],
  ['crossEntropy', () => F.crossEntropy(randn([2, 3]), i64([0, 1]), { reduction: 'avg' as 'mean' }), /'avg'/],
  ['mseLoss', () => F.mseLoss(randn([2]), randn([2]), 'avg' as 'mean'), /'avg'/],
  ['nllLoss', () => F.nllLoss(randn([2, 3]), i64([0, 3])), /out of bounds/],
  ['binaryCrossEntropyWithLogits', () => F.binaryCrossEntropyWithLogits(randn([2, 3]), randn([3, 2]))],
  ['sum', () => randn([2, 3]).sum(0.5), /integer/],
  ['sum', () => randn([2]).sum(0, { dtype: 'float8' as DType }), /unknown dtype 'float8'/],
  ['softmax', () => randn([2, 3]).softmax(1.5), /integer/],
  ['softmax', () => randn([2, 3]).softmax(5), /out of range/],
  ['zeros', () => zeros([2, -1]), /negative dimension/],
  ['zeros', () => zeros([2], { dtype: 'float8' as DType }), /unknown dtype 'float8'/],
  ['zeros', () => zeros([2], { device: 'tpu' as Device }), /unknown device 'tpu'/],
  ['to', () => randn([2]).to('int3' as DType), /unknown dtype/],
  ['backward', () => randn([3]).requiresGrad_().mul(2).backward(), /scalar/],
  ['backward', () => randn([1]).backward(), /does not require grad/],
  ['backward', () => { const y = randn([2]).requiresGrad_().exp().sum(); y.backward(); y.backward(); }, /second time/],
  ['cat', () => F.cat([]), /non-empty/],
  ['cat', () => F.cat([randn([2, 2]), randn([3, 3])])],
  ['stack', () => F.stack([]), /non-empty/],
  ['split', () => randn([4]).split(0), /positive/],
  ['split', () => randn([4]).split([1, 2]), /sum exactly/],
  ['chunk', () => randn([4]).chunk(0), /positive/],
  ['dropout', () => F.dropout(randn([4]), 2, true), /\[0, 1\]/],
  ['dropout', () => F.dropout(randn([4]), 2, false), /\[0, 1\]/],
  ['bernoulli', () => bernoulli(randn([4]), -1), /\[0, 1\]/],
  ['bernoulli', () => bernoulli(tensor([2, -1]))],
  ['randint', () => randint(5, 5, [2]), /greater than low/],
  ['randperm', () => randperm(-3), /negative/],
  ['multinomial', () => multinomial(tensor([-1, 2]), 1)],
  ['tensor', () => tensor([[1, 2], [3]]), /ragged/],
  ['tensor', () => tensor([['a']] as unknown as number[][]), /string/],
  ['tensor', () => tensor(new Float32Array(5), { shape: [2, 3] }), /5 elements but shape \[2, 3\] needs 6/],
  ['tensor', () => tensor([NaN], { dtype: 'int64' }), /NaN/],
  ['tensor', () => tensor(new Uint16Array(2)), /Uint16Array/],
  ['clamp', () => randn([2]).clamp(), /at least one of min and max/],
  ['clamp_', () => randn([2]).clamp_()],
  ['interpolate', () => F.interpolate(randn([1, 3, 4]), [2, 2], 'bicubic'), /4-D/],
  ['interpolate', () => F.interpolate(randn([1, 1, 3, 3]), [2, 2], 'area' as 'bilinear'), /mode/],
  ['layerNorm', () => F.layerNorm(randn([2, 3]), [4]), /normalized_shape/],
  ['layerNorm', () => F.layerNorm(randn([2, 3]), [3], ones([4])), /weight/],
  ['conv2d', () => F.conv2d(randn([1, 3, 5, 5]), randn([2, 4, 3, 3])), /channels/],
  ['conv2d', () => F.conv2d(randn([1, 1, 5, 5]), randn([1, 1, 3, 3]), null, { stride: 0 }), /stride/],
  ['setRngState', () => setRngState(new Uint8Array([1, 2, 3])), /size/],
  ['setRngState', () => setRngState(new Uint8Array(getRngState().length).fill(255))],
  ['setRngState', () => setRngState([1, 2, 3] as unknown as Uint8Array), /Uint8Array/],
  ['item', () => randn([3]).item(), /exactly one element/],
  ['einsum', () => F.einsum('ij,jk->ikz', randn([2, 3]), randn([3, 4])), /subscript/],
  ['einsum', () => F.einsum('ij,jk->ik', randn([2, 3])), /operands/],
  ['maskedFill', () => randn([3]).maskedFill(tensor([1, 0, 1]), 0), /bool/],
  ['maskedFill_', () => randn([3]).maskedFill_(tensor([1, 0, 1], { dtype: 'uint8' }), 0), /bool/],
  ['where', () => F.where(tensor([1, 0]), 1, 2), /bool/],
  ['scatter', () => zeros([3]).scatter(0, i64([9]), 1), /out of bounds/],
  ['scatterAdd', () => zeros([3]).scatterAdd(0, i64([9]), ones([1])), /out of bounds/],
  ['index', () => zeros([3]).index(i64([9])), /out of bounds/],
  ['index', () => zeros([3]).index(), /at least one/],
  ['topk', () => randn([3]).topk(5), /out of range/],
  ['narrow', () => randn([3]).narrow(0, 2, 5), /exceeds/],
  ['select', () => randn([3]).select(0, 7), /out of range/],
  ['slice', () => randn([3]).slice(0, 0, 2, 0), /positive/],
  ['permute', () => randn([3, 2]).permute(0, 0), /duplicate/],
  ['expand', () => randn([3]).expand(2, 4), /must match/],
  ['repeat', () => randn([2, 3]).repeat(2)],
  ['size', () => randn([3]).size(5), /out of range/],
  ['setGrad', () => { randn([3]).requiresGrad_().grad = zeros([4]); }, /shape/],
  ['setGrad', () => { randn([3]).requiresGrad_().grad = zeros([3], { dtype: 'int64' }); }, /dtype/],
  ['requiresGrad_', () => zeros([2], { dtype: 'int64' }).requiresGrad_(), /floating point/],
  ['sub_', () => ones([2]).requiresGrad_().sub_(1), /leaf/],
  ['attention', () => F.attention(randn([1, 1, 2, 4]), randn([1, 1, 3, 5]), randn([1, 1, 3, 4]))],
  ['attention', () => F.attention(randn([1, 1, 2, 4]), randn([1, 1, 3, 4]), randn([1, 1, 3, 4]), null, -1, true), /\[0, 1\]/],
  ['oneHot', () => F.oneHot(i64([5]), 3), /num_classes/],
  ['manualSeed', () => manualSeed(-1), /non-negative/],
  ['linspace', () => linspace(0, 1, 2.5), /integer/],
  ['arange', () => arange(0, 5, 0), /nonzero/],
  ['eye', () => eye(-2), /n must be/],
  ['full', () => full([2], 'a' as unknown as number), /number/],
  ['mean', () => i64([1, 2]).mean(), /dtype/],
  ['var', () => i64([1, 2]).var(), /floating point/],
  ['gelu', () => F.gelu(randn([3]), 'fast' as 'none'), /approximate/],
  ['normal_', () => zeros([3], { dtype: 'int64' }).normal_()],
  ['copy_', () => zeros([3]).copy_(ones([4]))],
  ['dataView', () => randn([2, 3]).transpose(0, 1).dataView(), /contiguous/],
  // integers are range-checked at the bridge for the type libtorch keeps them in (test/native-hardening.test.ts
  // runs the ones that used to crash in a child process)
  ['conv2d', () => F.conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 3, 3]), null, { groups: 2 ** 31 }), /argument 6 \(groups\) must be an integer in \[1, 2147483647\], got 2147483648/],
  ['conv2d', () => F.conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 3, 3]), null, { dilation: 2 ** 32 }), /\(dilation\)\[0\]/],
  ['topk', () => randn([3]).topk(-1), /\(k\) must be an integer in \[0, /],
  ['randint', () => randint(0, 2 ** 60, [2]), /\(high\) must be an integer/],
  ['unsqueeze', () => randn([3]).unsqueeze(2 ** 53), /\(d\) must be an integer/],
  // distribution parameters: finite and in range (a NaN binomial count used to loop forever)
  ['binomial', () => binomial(tensor([Infinity]), tensor([0.5])), /count must be finite and >= 0/],
  ['binomial', () => binomial(tensor([-1]), tensor([0.5])), /count must be finite and >= 0/],
  ['binomial', () => binomial(tensor([3]), tensor([NaN])), /prob must be in \[0, 1\]/],
  ['binomial', () => binomial(tensor([3]), tensor([1.5])), /prob must be in \[0, 1\]/],
  ['multinomial', () => multinomial(tensor([NaN, 1]), 1), /finite/],
  ['multinomial', () => multinomial(tensor([1, 2]), 0), /\(n\) must be an integer in \[1, /],
  ['bernoulli', () => bernoulli(tensor([0.5, NaN])), /\[0, 1\]/],
  ['bernoulli', () => bernoulli(randn([2]), NaN), /\[0, 1\]/],
  ['normal_', () => zeros([3]).normal_(NaN, 1), /\(mean\) must be a finite number, got NaN/],
  ['normal_', () => zeros([3]).normal_(0, -1), /\(std\) must be a finite number >= 0, got -1/],
  ['normal_', () => zeros([3]).normal_(0, Infinity), /\(std\)/],
  ['uniform_', () => zeros([3]).uniform_(1, 0), /\(high\) must be a finite number >= 1, got 0/],
  ['uniform_', () => zeros([3]).uniform_(-Infinity, 0), /\(low\) must be a finite number/],
];

const liveAtStart = settledTensorCount();

for (const [i, [op, call, pattern]] of BAD.entries()) {
  test(`bad call ${i + 1}/${BAD.length}: ${op} throws a TorchError naming the op`, () => tidy(() => {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof TorchError, `${op}: expected a TorchError, got ${String(e)}`);
      assert.ok(e instanceof Error);
      assert.equal(e.op, op, `${op}: error.op (message: ${e.message})`);
      assert.ok(e.message.startsWith(`${op}: `), `${op}: message names the op: ${e.message}`);
      assert.equal(e.name, 'TorchError');
      assert.ok(!e.message.includes('Exception raised from'), `${op}: libtorch backtrace stripped`);
      if (pattern) assert.match(e.message, pattern, `${op}: message`);
      return true;
    }, `${op}: expected a throw`);
  }));
}

test(`after ${BAD.length} bad calls the process is alive and no tensor handle leaked`, () => {
  assert.ok(BAD.length >= 30);
  assert.equal(memory().numTensors, liveAtStart, 'failed calls leak no tensor handles');
  assert.equal(tidy(() => ones([2, 2]).matmul(ones([2, 2])).sum().item()), 8);
});

test('CUDA requests fail cleanly when CUDA is not available', { skip: cudaAvailable() ? 'CUDA is available' : false }, () => {
  tidy(() => {
    assert.throws(() => zeros([2], { device: 'cuda' }), (e: unknown) => e instanceof TorchError && e.op === 'zeros');
    assert.throws(() => ones([2]).cuda(), (e: unknown) => e instanceof TorchError && e.op === 'cuda' && e.message.startsWith('cuda: '));
    assert.throws(() => tensor([1], { device: 'cuda:0' }), (e: unknown) => e instanceof TorchError && e.op === 'tensor' && e.message.startsWith('tensor: '));
  });
  assert.equal(tidy(() => ones([1]).add(1).item()), 2);
});

test('a bad call inside a training step leaves autograd and grad mode usable', () => {
  const w = randn([3, 2]).requiresGrad_();
  assert.throws(() => tidy(() => w.matmul(randn([4, 2])).sum().backward()), TorchError);
  tidy(() => w.matmul(ones([2, 1])).sum().backward());
  assert.deepEqual(tidy(() => w.grad!.toArray()), [[1, 1], [1, 1], [1, 1]]);
  w.dispose();
});

// ---- every error is a TorchError naming the public function, the argument and the shapes involved

test('errors the native layer throws are real TorchErrors, also from calls that bypass the Tensor API', async () => {
  const { native } = await import('../src/native/binding.js');
  const { setNumThreads, getNumThreads } = await import('../src/tensor/index.js');
  const before = getNumThreads();
  const checks: [() => unknown, string, RegExp][] = [
    [() => setNumThreads(2 ** 40), 'setNumThreads', /\(n\) must be an integer in \[1, \d+\], got 1099511627776/],
    [() => native.add(1 as never, 2 as never), 'add', /argument 0 \(a\) must be a tensor/],
    [() => native.autocastEnter('cpu', 2), 'autocastEnter', /bfloat16 only/],
  ];
  for (const [fn, op, pattern] of checks) {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof TorchError, `${op}: expected a TorchError instance, got ${String(e)}`);
      assert.equal(e.op, op);
      assert.equal(e.name, 'TorchError');
      assert.match(e.message, pattern);
      assert.ok(Array.isArray(e.shapes));
      return true;
    });
  }
  assert.equal(getNumThreads(), before);
});

test('autocast checks its options itself: the error names autocast, not the native autocastEnter', async () => {
  const { autocast } = await import('../src/tensor/index.js');
  const cases: [() => unknown, RegExp][] = [
    [() => autocast(() => 0, { dtype: 'float16' }), /^autocast: dtype must be bfloat16 on the CPU, got float16$/],
    [() => autocast(() => 0, { device: 'tpu' as 'cpu' }), /^autocast: device must be 'cpu' or 'cuda', got 'tpu'$/],
    [() => autocast(() => 0, { dtype: 'float32' as 'bfloat16' }), /^autocast: dtype must be bfloat16/],
    [() => autocast(5 as unknown as () => number), /^autocast: argument fn must be a function, got number$/],
  ];
  for (const [fn, pattern] of cases) assert.throws(fn, (e: unknown) => e instanceof TorchError && e.op === 'autocast' && pattern.test(e.message));
  assert.equal(autocast(() => 7), 7);
});

test('functions given a non-tensor name the function and the argument', () => {
  const x = randn([2, 3]);
  const cases: [string, () => unknown, RegExp][] = [
    ['softmax', () => F.softmax(3 as unknown as Tensor, 1), /^softmax: argument x must be a Tensor, got number$/],
    ['logSoftmax', () => F.logSoftmax('a' as unknown as Tensor, 1), /^logSoftmax: argument x must be a Tensor, got string$/],
    ['topk', () => F.topk(null as unknown as Tensor, 1), /^topk: argument x must be a Tensor, got null$/],
    ['sort', () => F.sort([1, 2] as unknown as Tensor), /^sort: argument x must be a Tensor, got an array$/],
    ['argsort', () => F.argsort({} as unknown as Tensor), /^argsort: argument x must be a Tensor, got an object$/],
    ['relu', () => F.relu(undefined as unknown as Tensor), /^relu: argument x must be a Tensor, got undefined$/],
    ['gelu', () => F.gelu(1 as unknown as Tensor), /^gelu: argument x must be a Tensor/],
    ['quickGelu', () => F.quickGelu(1 as unknown as Tensor), /^quickGelu: argument x must be a Tensor/],
    ['tanh', () => F.tanh(1 as unknown as Tensor), /^tanh: argument x must be a Tensor/],
    ['sigmoid', () => F.sigmoid(1 as unknown as Tensor), /^sigmoid: argument x must be a Tensor/],
    ['add', () => F.add(1 as unknown as Tensor, x), /^add: argument a must be a Tensor, got number$/],
    ['matmul', () => F.matmul(x, 2 as unknown as Tensor), /^matmul: argument b must be a Tensor, got number$/],
    ['bmm', () => F.bmm(x, new Map() as unknown as Tensor), /^bmm: argument b must be a Tensor, got a Map$/],
    ['matmul', () => x.matmul(2 as unknown as Tensor), /^matmul: argument other must be a Tensor, got number$/],
    ['crossEntropy', () => F.crossEntropy(x, 1 as unknown as Tensor), /^crossEntropy: argument target must be a Tensor, got number$/],
    ['linear', () => F.linear(x, 'w' as unknown as Tensor), /^linear: argument weight must be a Tensor, got string$/],
    ['zerosLike', () => zerosLikeOf(5), /^zerosLike: argument t must be a Tensor, got number$/],
  ];
  for (const [op, fn, pattern] of cases) {
    assert.throws(fn, (e: unknown) => e instanceof TorchError && e.op === op && pattern.test(e.message), op);
  }
  x.dispose();
});

function zerosLikeOf(v: unknown): Tensor {
  return zerosLike(v as Tensor);
}

test('a failing native op reports the dtypes and shapes of its tensor arguments', () => tidy(() => {
  const check = (fn: () => unknown, op: string, shapes: (number[] | null)[], text: RegExp): void => {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof TorchError);
      assert.equal(e.op, op);
      assert.deepEqual(e.shapes, shapes, e.message);
      assert.match(e.message, text);
      return true;
    });
  };
  check(() => randn([2, 3]).bmm(randn([3, 4, 2])), 'bmm', [[2, 3], [3, 4, 2]], /^bmm: .* \(a: float32 \[2, 3\], b: float32 \[3, 4, 2\]\)$/);
  check(() => randn([2, 3]).matmul(randn([4, 5])), 'matmul', [[2, 3], [4, 5]], /cannot be multiplied.*\(a: float32 \[2, 3\], b: float32 \[4, 5\]\)$/);
  check(() => F.crossEntropy(randn([2, 3]), i64([0, 1, 2])), 'crossEntropy', [[2, 3], [3]], /float32 \[2, 3\].*int64 \[3\]/);
  check(() => F.cat([randn([2, 2]), randn([3, 3])]), 'cat', [[2, 2], [3, 3]], /ts\[0\]: float32 \[2, 2\], ts\[1\]: float32 \[3, 3\]/);
  check(() => disposed().add(ones([2])), 'add', [null, [2]], /\(a: disposed, b: float32 \[2\]\)$/);
  check(() => zeros([2], { dtype: 'int64' }).requiresGrad_(), 'requiresGrad_', [[2]], /floating point.*\(t: int64 \[2\]\)$/);
  // an error with no tensor argument has no list
  check(() => arange(0, 5, 0), 'arange', [], /nonzero[^(]*$/);
}));

test('integers beyond the int64 range are reported as given, never wrapped', () => tidy(() => {
  const x = randn([2, 3]);
  for (const [fn, op] of [
    [() => x.sum(1e300), 'sum'],
    [() => x.softmax(1e300), 'softmax'],
    [() => x.unsqueeze(1e300), 'unsqueeze'],
    [() => x.flatten(1e300), 'flatten'],
    [() => x.topk(1e300), 'topk'],
    [() => zeros([1e300]), 'zeros'],
    [() => x.reshape(1e300, 1), 'reshape'],
  ] as const) {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof TorchError, String(e));
      assert.equal(e.op, op);
      assert.match(e.message, /got 1e\+300\b/, e.message);
      assert.ok(!/9223372036854775808/.test(e.message), e.message);
      return true;
    });
  }
}));

test('failing calls free the tensors they made before the failure', () => {
  const cases: [string, () => Tensor[], (ts: Tensor[]) => unknown][] = [
    ['crossEntropy bf16 logits, float target', () => [randn([2, 3]).to('bfloat16'), tensor([1, 2])], ([l, t]) => F.crossEntropy(l!, t!)],
    ['crossEntropy bf16 logits, bad reduction', () => [randn([2, 3]).to('bfloat16'), i64([1, 2])], ([l, t]) => F.crossEntropy(l!, t!, { reduction: 'avg' as 'mean' })],
    ['bce bf16 logits, bad target shape', () => [randn([2, 3]).to('bfloat16'), randn([3, 2])], ([l, t]) => F.binaryCrossEntropyWithLogits(l!, t!)],
    ['layerNorm bf16 input, bad shape', () => [randn([2, 3]).to('bfloat16'), ones([4])], ([x, w]) => F.layerNorm(x!, [4], w!)],
    ['zeros int64 requiresGrad', () => [], () => zeros([2], { dtype: 'int64', requiresGrad: true })],
    ['tensor int64 requiresGrad', () => [], () => tensor([1, 2], { dtype: 'int64', requiresGrad: true })],
    ['tensor typed array to bf16 requiresGrad on int', () => [], () => tensor(new Float32Array(2), { dtype: 'int32', requiresGrad: true })],
  ];
  for (const [name, inputs, fn] of cases) {
    const ts = inputs();
    const before = settledTensorCount();
    assert.throws(() => fn(ts), TorchError, name);
    assert.equal(memory().numTensors, before, `${name}: tensors left alive after the failure`);
    for (const t of ts) t.dispose();
  }
});

// ---- errors name the public function called (not the native op or helper it runs), every kind of bad
// argument is a TorchError (not a TypeError/RangeError from inside), and a failing call frees what it made

const isTorchError = (op: string, pattern?: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof TorchError, `${op}: expected a TorchError instance, got ${String(e)}`);
  assert.equal(e.op, op, e.message);
  assert.ok(e.message.startsWith(`${op}: `), e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

test('errors name the public function, not the native op or the helper it runs', () => tidy(() => {
  const cases: [string, () => unknown, RegExp?][] = [
    ['argsort', () => randn([3]).argsort(5), /out of range/],
    ['argsort', () => F.argsort(randn([3]), 5), /out of range/],
    ['tensor', () => tensor([1], { dtype: 'float8' as DType }), /unknown dtype 'float8'/],
    ['tensor', () => tensor(new Float32Array(2), { device: 'tpu' as Device }), /unknown device 'tpu'/],
    ['float', () => disposed().float(), /used after dispose/],
    ['toArray', () => disposed().toArray(), /used after dispose/],
    ['add', () => ones([2]).add(ones([3]), 2), /must match/], // runs the native addScaled
    ['max', () => randn([2]).max(3), /out of range/], // maxDim
    ['squeeze', () => disposed().squeeze(), /used after dispose/], // squeezeAll
    ['binaryCrossEntropyWithLogits', () => F.binaryCrossEntropyWithLogits(randn([2, 3]), randn([3, 2]))], // bceWithLogits
    ['crossEntropy', () => F.crossEntropy(randn([2, 3]).to('bfloat16'), tensor([1, 2]))],
    ['zerosLike', () => zerosLike(randn([2]), { dtype: 'int3' as DType }), /unknown dtype 'int3'/], // runs zeros
    ['scalar', () => scalar('x' as unknown as number), /number/], // runs full
    ['bernoulli', () => bernoulli(randn([2]), 3), /\[0, 1\]/], // bernoulliP
  ];
  for (const [op, fn, pattern] of cases) assert.throws(fn, isTorchError(op, pattern));
  // the inner error is kept as the cause
  assert.throws(() => randn([3]).argsort(5), (e: unknown) => e instanceof TorchError && e.cause instanceof TorchError && e.cause.op === 'sort');
}));

test('every kind of bad argument is a TorchError naming the function and the argument', async () => {
  const T = await import('../src/tensor/index.js');
  const x = randn([2, 3]);
  const notFn = 3 as unknown as () => number;
  const lookalike = Object.create(Tensor.prototype) as Tensor;
  const cases: [string, () => unknown, RegExp][] = [
    ['setNumThreads', () => T.setNumThreads(0), /^setNumThreads: n must be an integer >= 1, got 0$/],
    ['setNumThreads', () => T.setNumThreads(true as unknown as number), /^setNumThreads: n must be an integer, got true$/],
    ['setNumInteropThreads', () => T.setNumInteropThreads(1.5), /^setNumInteropThreads: n must be an integer, got 1.5$/],
    ['dtypeFromCode', () => T.dtypeFromCode(99), /^dtypeFromCode: 99 is not a dtype code flm supports \(0 to 9\)$/],
    ['dtypeFromCode', () => T.dtypeFromCode(undefined as unknown as number), /undefined is not a dtype code/],
    ['dtypeCode', () => T.dtypeCode(Symbol('s') as unknown as DType), /^dtypeCode: unknown dtype symbol/],
    ['dtypeOfTypedArray', () => T.dtypeOfTypedArray(undefined as unknown as Float32Array), /expected a TypedArray, got undefined/],
    ['checkDevice', () => T.checkDevice(Object.create(null) as string), /unknown device an object/],
    ['indexPut', () => x.indexPut(5 as unknown as Tensor[], ones([1])), /^indexPut: argument indices must be an array, got number$/],
    ['tidy', () => tidy(notFn), /^tidy: argument fn must be a function, got number$/],
    ['tidy', () => tidy((async () => 1) as unknown as () => number), /^tidy: fn must be synchronous/],
    ['noGrad', () => T.noGrad(notFn), /^noGrad: argument fn must be a function, got number$/],
    ['enableGrad', () => T.enableGrad(null as unknown as () => number), /^enableGrad: argument fn must be a function, got null$/],
    ['gradcheck', () => T.gradcheck(notFn as never, []), /^gradcheck: argument fn must be a function/],
    ['gradcheck', () => T.gradcheck((a) => a, 5 as unknown as Tensor[]), /^gradcheck: argument inputs must be an array, got number$/],
    ['gradcheck', () => T.gradcheck((a) => a, [ones([2])]), /^gradcheck: inputs\[0\] must be float64, got float32 \[2\]$/],
    ['gradcheck', () => T.gradcheck((() => 5) as never, [randn([2], { dtype: 'float64' }).requiresGrad_()]), /^gradcheck: fn must return a Tensor, got number$/],
    ['gradcheck', () => T.gradcheck((a) => a.mul(2), [randn([2], { dtype: 'float64' })]), /no input requires grad/],
    ['keep', () => T.keep(5 as unknown as Tensor), /^keep: argument t must be a Tensor, got number$/],
    ['softmax', () => F.softmax(lookalike, 0), /^softmax: argument x must be a Tensor, got an object posing as a Tensor/],
    ['add', () => x.add(lookalike), /^add: argument other must be a Tensor or a number, got an object posing as a Tensor/],
    ['sum', () => x.sum(0, null as never), /^sum: argument options must be an object, got null$/],
    ['conv2d', () => F.conv2d(x, x, null, 7 as never), /^conv2d: argument options must be an object, got number$/],
    ['tensor', () => tensor([1], null as never), /^tensor: argument options must be an object, got null$/],
    ['tensor', () => { const a: unknown[] = []; a.push(a); return tensor(a as number[]); }, /deeper than 64 levels/],
    ['randint', () => randint(Symbol('s') as unknown as number, 3, [2]), /^randint: low must be an integer, got symbol$/],
    ['dropout', () => F.dropout(x, Symbol('p') as unknown as number, true), /got symbol$/],
    ['arange', () => arange(NaN), /^arange: end must be a finite number, got NaN$/],
    ['einsum', () => F.einsum(5 as unknown as string, x), /^einsum: argument equation must be a string, got number$/],
  ];
  for (const [op, fn, pattern] of cases) assert.throws(fn, isTorchError(op, pattern));
  x.dispose();
});

test('a method called on something that is not a Tensor names the method', () => {
  const add = Tensor.prototype.add;
  const shape = Object.getOwnPropertyDescriptor(Tensor.prototype, 'shape')!.get!;
  const grad = Object.getOwnPropertyDescriptor(Tensor.prototype, 'grad')!.set!;
  const proxy = tidy(() => new Proxy(ones([2]), {}));
  const cases: [string, () => unknown, RegExp][] = [
    ['add', () => Reflect.apply(add, undefined, [1]), /^add: called on undefined, not a Tensor/],
    ['add', () => Reflect.apply(add, Object.create(Tensor.prototype), [1]), /^add: called on an object posing as a Tensor/],
    ['add', () => Reflect.apply(add, proxy, [1]), /^add: called on an object posing as a Tensor/],
    ['float', () => Reflect.apply(Tensor.prototype.float, { to: () => 1 }, []), /^float: called on an object, not a Tensor/],
    ['shape', () => Reflect.apply(shape, 5, []), /^shape: called on number/],
    ['setGrad', () => Reflect.apply(grad, null, [null]), /^setGrad: called on null/],
    ['dispose', () => Reflect.apply(Tensor.prototype[Symbol.dispose], 'x', []), /^dispose: called on string/],
  ];
  for (const [op, fn, pattern] of cases) assert.throws(fn, isTorchError(op, pattern));
  assert.equal(Object.create(Tensor.prototype) instanceof Tensor, false);
  assert.equal(tidy(() => ones([1]) instanceof Tensor), true);
});

test('a failing public call frees every tensor it made before failing, and keeps kept ones', async () => {
  const { publicFunction } = await import('../src/tensor/public.js');
  const { keep } = await import('../src/tensor/index.js');
  let kept: Tensor | undefined;
  const f = publicFunction('composite', (fail: boolean): Tensor => {
    const a = ones([2, 2]);
    const b = a.matmul(a); // a nested public call that succeeds
    kept = keep(zeros([1]));
    if (fail) b.matmul(ones([3, 3])); // fails: "matmul: ..." leaves as "composite: ..."
    return b;
  });
  const before = settledTensorCount();
  assert.throws(() => f(true), isTorchError('composite', /cannot be multiplied/));
  assert.equal(memory().numTensors, before + 1, 'only the kept tensor is left');
  kept!.dispose();
  // a call that succeeds leaves its tensors to the caller (and its tidy scope)
  assert.equal(tidy(() => { f(false); return memory().numTensors; }), before + 3);
  kept!.dispose();
  assert.equal(memory().numTensors, before);
  assert.equal(tidy(() => ones([1]).add(1).item()), 2);
});
