#!/usr/bin/env python3
# Generates test/tensor-known-values.ts: expected values for the engine tests, computed once with
# PyTorch 1.13 (the libtorch the addon links). Tests never run Python: rerun this only to regenerate.
#   /usr/bin/python3 test/tensor-known-values.gen.py > test/tensor-known-values.ts
import math
import torch
import torch.nn.functional as F

out = {}
def fmt(t):
    t = t.detach()
    if t.dtype == torch.bool: return [bool(x) for x in t.flatten().tolist()]
    if t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8): return t.flatten().tolist()
    return [float('%.8g' % x) for x in t.double().flatten().tolist()]
def put(name, t):
    out[name] = {'shape': list(t.shape), 'v': fmt(t)}
A = torch.tensor([[0.5, -1.25, 2.0], [3.0, 0.0, -0.75]])
B = torch.tensor([[1.5, 2.0, -0.5], [-1.0, 0.25, 4.0]])
P = torch.tensor([[0.5, 1.25, 2.0], [3.0, 0.75, 0.25]])  # positive
# elementwise
for n, f in [('exp', torch.exp), ('tanh', torch.tanh), ('sigmoid', torch.sigmoid), ('relu', torch.relu),
             ('gelu', F.gelu), ('geluTanh', lambda x: F.gelu(x, approximate='tanh')), ('silu', F.silu), ('erf', torch.erf),
             ('sin', torch.sin), ('cos', torch.cos), ('abs', torch.abs), ('neg', torch.neg), ('sign', torch.sign),
             ('floor', torch.floor), ('ceil', torch.ceil), ('round', torch.round), ('square', torch.square),
             ('expm1', torch.expm1), ('quickGelu', lambda x: x * torch.sigmoid(1.702 * x))]:
    put('u_' + n, f(A))
for n, f in [('log', torch.log), ('sqrt', torch.sqrt), ('rsqrt', torch.rsqrt), ('reciprocal', torch.reciprocal), ('log1p', torch.log1p)]:
    put('p_' + n, f(P))
put('b_add', A + B); put('b_sub', A - B); put('b_mul', A * B); put('b_div', A / B); put('b_pow', P ** B)
put('b_addAlpha', torch.add(A, B, alpha=2.5)); put('b_powScalar', A ** 2)
put('b_remainder', torch.remainder(A, 0.75)); put('b_floorDiv', torch.floor_divide(A, 0.75))
put('b_min', torch.minimum(A, B)); put('b_max', torch.maximum(A, B))
row = torch.tensor([10., 20., 30.]); col = torch.tensor([[1.], [2.]])
put('b_bcast', A * row + col)
put('c_lt', A < B); put('c_ge', A >= 0.5); put('c_eq', A == 0)
put('clamp', A.clamp(-1, 1)); put('clampMin', A.clamp(min=0))
# linalg
M = torch.tensor([[1., 2.], [3., 4.], [5., 6.]])
put('mm', A.mm(M))
X3 = torch.arange(12.).reshape(2, 2, 3) / 4 - 1
Y3 = torch.arange(12.).reshape(2, 3, 2) / 3 - 1.5
put('bmm', X3.bmm(Y3)); put('matmulBcast', X3.matmul(M))
put('outer', torch.outer(torch.tensor([1., 2., 3.]), torch.tensor([0.5, -1.])))
W = torch.tensor([[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]]); bias = torch.tensor([0.01, -0.02])
put('linear', F.linear(A, W, bias))
put('einsum_ij_jk', torch.einsum('ij,jk->ik', A, M))
put('einsum_bij_bjk', torch.einsum('bij,bjk->bik', X3, Y3))
put('einsum_trace', torch.einsum('ii->', torch.arange(9.).reshape(3, 3)))
put('einsum_outer', torch.einsum('i,j->ij', torch.tensor([1., 2.]), torch.tensor([3., 4., 5.])))
put('einsum_bhld', torch.einsum('bhld,bhmd->bhlm', X3.reshape(1, 2, 2, 3), X3.reshape(1, 2, 2, 3)))
# reductions
R = torch.tensor([[[1., -2., 3., 0.5], [4., 5., -6., 2.]], [[0.25, 7., -1., 3.], [2., -3., 8., -0.5]]])  # 2x2x4
put('sumAll', R.sum()); put('sum1k', R.sum(1, keepdim=True)); put('sum02', R.sum((0, 2)))
put('mean2', R.mean(2)); put('mean2k', R.mean(-1, keepdim=True)); put('meanAll', R.mean())
put('prod2', R.prod(2)); put('prodAll', R.prod())
mv, mi = R.max(2); put('max2v', mv); put('max2i', mi)
mv, mi = R.min(1, keepdim=True); put('min1kv', mv); put('min1ki', mi)
put('maxAll', R.max()); put('minAll', R.min())
put('amax02', R.amax((0, 2))); put('amin1k', R.amin(1, keepdim=True))
put('argmax2', R.argmax(2)); put('argmaxAll', R.argmax()); put('argmin0k', R.argmin(0, keepdim=True))
put('lse2', R.logsumexp(2)); put('lse01k', R.logsumexp((0, 1), keepdim=True)); put('lseAll', torch.logsumexp(R, (0, 1, 2)))
put('var2', R.var(2)); put('var2c0', R.var(2, correction=0)); put('varAll', R.var()); put('var1k', R.var(1, keepdim=True))
put('std2', R.std(2)); put('stdAll', R.std()); put('std0c0k', R.std(0, correction=0, keepdim=True))
put('norm2', R.norm(2)); put('norm1d2', R.norm(1, dim=2)); put('norm2d1k', torch.norm(R, 2, dim=1, keepdim=True))
put('normInf', torch.norm(R, float('inf'), dim=2))
Bo = torch.tensor([[True, False, True], [False, False, True]])
put('any1', Bo.any(1)); put('all0', Bo.all(0)); put('anyAll', Bo.any()); put('allAll', Bo.all())
put('cumsum1', R.cumsum(1)); put('cumsum2', R.cumsum(-1)); put('cumsumInt', torch.tensor([1, 2, 3, 4]).cumsum(0))
put('countNz', torch.count_nonzero(torch.tensor([[0., 1., 2.], [0., 0., 3.]]), dim=1))
# softmax
put('softmax1', A.softmax(1)); put('softmax0', A.softmax(0)); put('logSoftmax1', A.log_softmax(1))
# shape/indexing
Q = torch.arange(24.).reshape(2, 3, 4)
put('permute', Q.permute(2, 0, 1)); put('transpose', Q.transpose(0, 2))
put('narrow', Q.narrow(2, 1, 2)); put('slice', Q[:, :, 1::2]); put('sliceNeg', Q[:, -2:, :-1]); put('select', Q.select(1, 2))
T4 = torch.arange(1., 17.).reshape(4, 4)
put('tril', T4.tril()); put('trilm1', T4.tril(-1)); put('triu1', T4.triu(1)); put('triu', T4.triu())
put('flip0', Q.flip(0)); put('flip12', Q.flip((1, 2)))
put('roll1', torch.arange(6.).roll(2, 0)); put('roll2d', T4.roll((1, -1), (0, 1))); put('rollNeg', torch.arange(6.).roll(-1, 0))
put('repeat', torch.tensor([[1., 2.]]).repeat(2, 3)); put('expand', torch.tensor([[1.], [2.]]).expand(2, 3))
put('repeatInterleave', torch.tensor([[1., 2.], [3., 4.]]).repeat_interleave(2, 0))
put('diagonal', T4.diagonal()); put('diagonal1', T4.diagonal(1))
put('cat0', torch.cat([A, B], 0)); put('cat1', torch.cat([A, B, A], 1))
put('stack0', torch.stack([A, B])); put('stack2', torch.stack([A, B], 2))
put('gather1', A.gather(1, torch.tensor([[2, 0], [1, 1]])))
put('gather0', A.gather(0, torch.tensor([[1, 0, 1]])))
put('scatter1', torch.zeros(2, 4).scatter(1, torch.tensor([[3, 0], [1, 2]]), torch.tensor([[5., 6.], [7., 8.]])))
put('scatterScalar', torch.zeros(2, 4).scatter(1, torch.tensor([[3], [0]]), 9.0))
put('scatterAdd', torch.ones(3).scatter_add(0, torch.tensor([0, 2, 0, 0]), torch.tensor([1., 2., 3., 4.])))
put('scatterAdd2', torch.zeros(2, 3).scatter_add(1, torch.tensor([[0, 0, 2], [1, 1, 1]]), torch.tensor([[1., 2., 3.], [4., 5., 6.]])))
put('indexSelect', Q.index_select(1, torch.tensor([2, 0, 2])))
put('maskedFill', A.masked_fill(A < 0, -9.))
put('maskedFillBcast', A.masked_fill(torch.tensor([True, False, True]), 0.))
put('maskedSelect', A.masked_select(A > 0.4))
put('where', torch.where(A > 0, A, B)); put('whereScalar', torch.where(A > 0, A, torch.tensor(0.)))
put('whereSS', torch.where(A > 0, 1., -1.))
put('nonzero', torch.nonzero(torch.tensor([[0., 1.], [2., 0.]])))
put('index', Q[torch.tensor([1, 0]), torch.tensor([2, 1])])
put('indexBool', A[torch.tensor([False, True])])
put('indexPut', torch.zeros(4).index_put((torch.tensor([0, 2, 0]),), torch.tensor([1., 2., 3.]), accumulate=True))
sv, si = torch.tensor([3., 1., 4., 1.5, 5., 9., 2., 6.]).topk(3); put('topkV', sv); put('topkI', si)
sv, si = torch.tensor([[3., 1., 4.], [1.5, 5., 0.]]).topk(2, dim=1, largest=False); put('topkSmallV', sv); put('topkSmallI', si)
sv, si = torch.tensor([3., 1., 4., 1.5, 5., 9., 2., 6.]).sort(); put('sortV', sv); put('sortI', si)
sv, si = torch.tensor([[3., 1., 4.], [1.5, 5., 0.]]).sort(0, descending=True); put('sortDescV', sv); put('sortDescI', si)
put('argsort', torch.tensor([3., 1., 4., 1.5]).argsort(descending=True))
# creation
put('linspace', torch.linspace(-1, 1, 5)); put('arangeF', torch.arange(0, 1, 0.25)); put('arangeI', torch.arange(2, 11, 3)); put('eye23', torch.eye(2, 3))
def pat(n, k, dtype=torch.float32):
    return torch.tensor([((i * 7 + k) % 11) / 5 - 1 for i in range(n)], dtype=dtype)
# interpolate
x = pat(98, 3).reshape(1, 2, 7, 7)
put('bicubic79', F.interpolate(x, size=(9, 9), mode='bicubic', align_corners=False))
put('bicubic79ac', F.interpolate(x, size=(9, 9), mode='bicubic', align_corners=True))
x2 = pat(12, 1).reshape(1, 1, 3, 4)
put('bilinear', F.interpolate(x2, size=(5, 3), mode='bilinear', align_corners=False))
put('bilinearAc', F.interpolate(x2, size=(5, 3), mode='bilinear', align_corners=True))
put('nearest', F.interpolate(x2, size=(6, 2), mode='nearest'))
# layerNorm
xl = pat(24, 2).reshape(2, 3, 4) * 3
w = pat(4, 5) + 1.5; b = pat(4, 8) * 0.5
put('ln4', F.layer_norm(xl, [4], w, b)); put('ln34', F.layer_norm(xl, [3, 4], eps=1e-3))
# conv2d
xc = pat(50, 0).reshape(1, 2, 5, 5); wc = pat(54, 4).reshape(3, 2, 3, 3); bc = torch.tensor([0.1, -0.2, 0.3])
put('conv', F.conv2d(xc, wc, bc)); put('convS2P1', F.conv2d(xc, wc, bc, stride=2, padding=1))
wg = pat(18, 6).reshape(2, 1, 3, 3)
put('convG2D2', F.conv2d(xc, wg, None, padding=(2, 1), dilation=2, groups=2))
put('convS21', F.conv2d(xc, wc, None, stride=(2, 1)))
# cross entropy
lg = pat(20, 3).reshape(4, 5) * 2; tg = torch.tensor([1, 3, 4, 0])
put('ce', F.cross_entropy(lg, tg)); put('ceNone', F.cross_entropy(lg, tg, reduction='none')); put('ceSum', F.cross_entropy(lg, tg, reduction='sum'))
put('ceIgnore', F.cross_entropy(lg, tg, ignore_index=3)); put('ceIgnoreNone', F.cross_entropy(lg, tg, ignore_index=3, reduction='none'))
put('ceLS', F.cross_entropy(lg, tg, label_smoothing=0.1)); put('ceLSNone', F.cross_entropy(lg, tg, label_smoothing=0.1, reduction='none'))
put('ceLSIgnore', F.cross_entropy(lg, tg, label_smoothing=0.2, ignore_index=3))
put('ceLSIgnoreNone', F.cross_entropy(lg, tg, label_smoothing=0.2, ignore_index=3, reduction='none'))
cw = torch.tensor([1., 2., 0.5, 1., 3.])
put('ceWeight', F.cross_entropy(lg, tg, weight=cw)); put('ceWeightLS', F.cross_entropy(lg, tg, weight=cw, label_smoothing=0.1))
put('ceDefaultIgnore', F.cross_entropy(lg, torch.tensor([1, -100, 4, -100])))
lg3 = pat(30, 2).reshape(2, 5, 3); tg3 = torch.tensor([[0, 4, 2], [1, 1, 3]])
put('ce3d', F.cross_entropy(lg3, tg3)); put('ce3dNone', F.cross_entropy(lg3, tg3, reduction='none'))
probs = torch.softmax(pat(20, 6).reshape(4, 5), 1)
put('ceProb', F.cross_entropy(lg, probs))
put('nll', F.nll_loss(F.log_softmax(lg, 1), tg)); put('nllIgnore', F.nll_loss(F.log_softmax(lg, 1), tg, ignore_index=4, reduction='sum'))
# bce
bl = pat(6, 1).reshape(2, 3) * 3; bt = torch.tensor([[0., 1., 1.], [0.25, 0., 1.]])
put('bce', F.binary_cross_entropy_with_logits(bl, bt)); put('bceNone', F.binary_cross_entropy_with_logits(bl, bt, reduction='none'))
put('bcePosW', F.binary_cross_entropy_with_logits(bl, bt, pos_weight=torch.tensor([1., 2., 0.5])))
put('bceW', F.binary_cross_entropy_with_logits(bl, bt, weight=torch.tensor([[2.], [0.5]]), reduction='sum'))
put('bceBig', F.binary_cross_entropy_with_logits(torch.tensor([100., -100.]), torch.tensor([0., 1.]), reduction='none'))
put('mse', F.mse_loss(bl, bt)); put('mseNone', F.mse_loss(bl, bt, reduction='none')); put('mseSum', F.mse_loss(bl, bt, reduction='sum'))
put('normalize', F.normalize(bl, dim=1)); put('normalize0p1', F.normalize(bl, p=1, dim=0))
put('oneHot', F.one_hot(torch.tensor([0, 2, 1]), 4)); put('oneHotAuto', F.one_hot(torch.tensor([[0, 2], [1, 0]])))
# embedding
ew = pat(15, 1).reshape(5, 3).requires_grad_(); ids = torch.tensor([[0, 2, 4], [2, 0, 1]])
e = F.embedding(ids, ew, padding_idx=0); put('emb', e)
(e * pat(18, 4).reshape(2, 3, 3)).sum().backward(); put('embGradPad0', ew.grad)
ew.grad = None
e2 = F.embedding(ids, ew); (e2 * pat(18, 4).reshape(2, 3, 3)).sum().backward(); put('embGrad', ew.grad)
# attention
q = pat(24, 1).reshape(1, 2, 3, 4); k = pat(24, 5).reshape(1, 2, 3, 4) * 2; v = pat(24, 9).reshape(1, 2, 3, 4)
mask = torch.tensor([0., 0., -1e9]).reshape(1, 1, 1, 3)
def att(q, k, v, m):
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if m is not None: s = s + m
    return s.softmax(-1) @ v
put('attn', att(q, k, v, None)); put('attnMask', att(q, k, v, mask))
cm = torch.triu(torch.full((3, 3), -10000.), 1)
put('attnCausal', att(q, k, v, cm))
# softmax dtype
put('softmaxF64', pat(6, 2).reshape(2, 3).softmax(1, dtype=torch.float64))
# rng
torch.manual_seed(42); put('seed42randn', torch.randn(4)); put('seed42rand', torch.rand(3)); put('seed42randint', torch.randint(0, 10, (5,))); put('seed42randperm', torch.randperm(6))
torch.manual_seed(7); put('seed7bern', torch.bernoulli(torch.full((8,), 0.5))); put('seed7multi', torch.multinomial(torch.tensor([0.1, 0.2, 0.3, 0.4]), 4, replacement=True))
torch.manual_seed(3); put('seed3dropout', F.dropout(torch.ones(8), 0.5, True))
torch.manual_seed(5); put('seed5normal', torch.empty(3).normal_(1., 2.)); put('seed5uniform', torch.empty(3).uniform_(-1., 1.))


def ts_value(x):
    if isinstance(x, bool): return 'true' if x else 'false'
    if isinstance(x, int): return str(x)
    if x != x: return 'NaN'
    if x in (float('inf'), float('-inf')): return 'Infinity' if x > 0 else '-Infinity'
    r = repr(x)
    return r[:-2] if r.endswith('.0') else r

print('// Generated by test/tensor-known-values.gen.py with PyTorch ' + torch.__version__.split('a')[0] + ': do not edit by hand.')
print('// Inputs are spelled out in the generator and rebuilt by the tests (see pat() in tensor-helpers.ts).')
print('export interface Known { shape: number[]; v: (number | boolean)[] }')
print('export const K: Record<string, Known> = {')
for name, d in out.items():
    print('  %s: { shape: [%s], v: [%s] },' % (name, ', '.join(map(str, d['shape'])), ', '.join(ts_value(x) for x in d['v'])))
print('};')
