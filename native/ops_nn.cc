// Neural-network functional ops and the fused optimiser updates.
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "fused.h"
#include "core.h"

namespace flm {

FLM_FN(Softmax) {
  FLM_OP("softmax")
  return Wrap(info.Env(), at::softmax(T(info, 0, kOp), ArgInt(info, 1, kOp), OptDtype(info, 2, kOp)));
  FLM_END
}
FLM_FN(LogSoftmax) {
  FLM_OP("logSoftmax")
  return Wrap(info.Env(), at::log_softmax(T(info, 0, kOp), ArgInt(info, 1, kOp), OptDtype(info, 2, kOp)));
  FLM_END
}
// layerNorm(x, normalizedShape, weight|null, bias|null, eps)
FLM_FN(LayerNorm) {
  FLM_OP("layerNorm")
  auto w = OptT(info, 2, kOp);
  auto b = OptT(info, 3, kOp);
  return Wrap(info.Env(), at::layer_norm(T(info, 0, kOp), ArgIntList(info, 1, kOp, kCount), w ? *w : at::Tensor(), b ? *b : at::Tensor(),
                                         ArgDouble(info, 4, kOp), true));
  FLM_END
}
FLM_FN(Dropout) {
  FLM_OP("dropout")
  auto p = ArgDouble(info, 1, kOp);
  if (!(p >= 0 && p <= 1)) ThrowArg(kOp, "dropout probability must be in [0, 1], got " + std::to_string(p));
  return Wrap(info.Env(), at::dropout(T(info, 0, kOp), p, ArgBool(info, 2, kOp)));
  FLM_END
}
// embedding(weight, ids, paddingIdx)
FLM_FN(Embedding) {
  FLM_OP("embedding")
  const auto& w = T(info, 0, kOp);
  const auto& ids = T(info, 1, kOp);
  if (ids.scalar_type() != at::kLong && ids.scalar_type() != at::kInt)
    ThrowArg(kOp, std::string("indices must be int64 or int32, got ") + c10::toString(ids.scalar_type()));
  if (w.dim() != 2) ThrowArg(kOp, "weight must be 2-D [numEmbeddings, dim], got " + std::to_string(w.dim()) + " dimensions");
  auto pad = ArgInt(info, 2, kOp);
  if (pad < -1 || pad >= w.size(0))
    ThrowArg(kOp, "paddingIdx must be -1 (none) or in [0, " + std::to_string(w.size(0)) + "), got " + std::to_string(pad));
  return Wrap(info.Env(), at::embedding(w, ids, pad, false, false));
  FLM_END
}
// conv2d(x, w, b|null, stride[2], padding[2], dilation[2], groups)
FLM_FN(Conv2d) {
  FLM_OP("conv2d")
  const auto& x = T(info, 0, kOp);
  const auto& w = T(info, 1, kOp);
  auto b = OptT(info, 2, kOp);
  // libtorch 1.13 keeps groups (and, in some backends, the window parameters) in an int: 2^32 groups
  // became 0 and divided by zero (SIGFPE).
  auto stride = ArgIntList(info, 3, kOp, kPositiveInt32);
  auto padding = ArgIntList(info, 4, kOp, kCountInt32);
  auto dilation = ArgIntList(info, 5, kOp, kPositiveInt32);
  auto groups = ArgInt(info, 6, kOp, kPositiveInt32);
  return Wrap(info.Env(), at::conv2d(x, w, b ? *b : at::Tensor(), stride, padding, dilation, groups));
  FLM_END
}
static int64_t Reduction(const std::string& r, const char* op) {
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw std::invalid_argument("reduction must be 'mean', 'sum' or 'none', got '" + r + "'");
}
// crossEntropy(logits [N,C] or [N,C,d...], target (class ids) or probabilities, weight|null, reduction, ignoreIndex, labelSmoothing)
FLM_FN(CrossEntropy) {
  FLM_OP("crossEntropy")
  auto w = OptT(info, 2, kOp);
  auto ls = ArgDouble(info, 5, kOp);
  if (!(ls >= 0 && ls <= 1)) ThrowArg(kOp, "label smoothing must be in [0, 1]");
  return Wrap(info.Env(), at::cross_entropy_loss(T(info, 0, kOp), T(info, 1, kOp), w ? *w : at::Tensor(),
                                                 Reduction(ArgString(info, 3, kOp), kOp), ArgInt(info, 4, kOp), ls));
  FLM_END
}
// nllLoss(logp, target, weight|null, reduction, ignoreIndex)
FLM_FN(NllLoss) {
  FLM_OP("nllLoss")
  auto w = OptT(info, 2, kOp);
  return Wrap(info.Env(), at::nll_loss_nd(T(info, 0, kOp), T(info, 1, kOp), w ? *w : at::Tensor(),
                                          Reduction(ArgString(info, 3, kOp), kOp), ArgInt(info, 4, kOp)));
  FLM_END
}
// bceWithLogits(logits, target, weight|null, posWeight|null, reduction)
FLM_FN(BceWithLogits) {
  FLM_OP("binaryCrossEntropyWithLogits")
  auto w = OptT(info, 2, kOp);
  auto pw = OptT(info, 3, kOp);
  return Wrap(info.Env(), at::binary_cross_entropy_with_logits(T(info, 0, kOp), T(info, 1, kOp), w ? *w : at::Tensor(),
                                                               pw ? *pw : at::Tensor(), Reduction(ArgString(info, 4, kOp), kOp)));
  FLM_END
}
FLM_FN(MseLoss) {
  FLM_OP("mseLoss")
  return Wrap(info.Env(), at::mse_loss(T(info, 0, kOp), T(info, 1, kOp), Reduction(ArgString(info, 2, kOp), kOp)));
  FLM_END
}
// normalize(x, p, dim, eps): x / max(||x||_p, eps)
FLM_FN(Normalize) {
  FLM_OP("normalize")
  const auto& x = T(info, 0, kOp);
  auto p = ArgDouble(info, 1, kOp);
  auto dim = ArgInt(info, 2, kOp);
  auto eps = ArgDouble(info, 3, kOp);
  auto n = at::norm(x, at::Scalar(p), {dim}, true).clamp_min(eps).expand_as(x);
  return Wrap(info.Env(), x / n);
  FLM_END
}
// interpolate(x [N,C,H,W], size[2], mode, alignCorners)
FLM_FN(Interpolate) {
  FLM_OP("interpolate")
  const auto& x = T(info, 0, kOp);
  auto size = ArgIntList(info, 1, kOp, kPositiveInt32);
  auto mode = ArgString(info, 2, kOp);
  bool ac = ArgBool(info, 3, kOp);
  if (x.dim() != 4) ThrowArg(kOp, "expected a 4-D input [N, C, H, W], got " + std::to_string(x.dim()) + " dimensions");
  if (size.size() != 2) ThrowArg(kOp, "size must have 2 entries");
  if (mode == "bilinear") return Wrap(info.Env(), at::upsample_bilinear2d(x, size, ac));
  if (mode == "bicubic") return Wrap(info.Env(), at::upsample_bicubic2d(x, size, ac));
  if (mode == "nearest") return Wrap(info.Env(), at::upsample_nearest2d(x, size));
  ThrowArg(kOp, "mode must be 'bilinear', 'bicubic' or 'nearest', got '" + mode + "'");
  FLM_END
}
FLM_FN(OneHot) {
  FLM_OP("oneHot")
  return Wrap(info.Env(), at::one_hot(T(info, 0, kOp), ArgInt(info, 1, kOp, {-1, kMaxSafeInt})));
  FLM_END
}

// quickGelu(x): x * sigmoid(1.702 x), OpenAI CLIP's activation
FLM_FN(QuickGelu) {
  FLM_OP("quickGelu")
  return Wrap(info.Env(), FusedQuickGelu(T(info, 0, kOp)));
  FLM_END
}

// attention(q [B,h,Lq,d], k [B,h,Lk,d], v, additiveMask|null, dropoutP, train) -> [B,h,Lq,d]
// softmax(q k^T * d^-1/2 + mask) v, the arithmetic of BERT/RoBERTa self-attention.
FLM_FN(Attention) {
  FLM_OP("attention")
  const auto& q = T(info, 0, kOp);
  const auto& k = T(info, 1, kOp);
  const auto& v = T(info, 2, kOp);
  auto mask = OptT(info, 3, kOp);
  auto p = ArgDouble(info, 4, kOp);
  bool train = ArgBool(info, 5, kOp);
  if (!(p >= 0 && p <= 1)) ThrowArg(kOp, "dropout probability must be in [0, 1], got " + std::to_string(p));
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2) ThrowArg(kOp, "query, key and value must have at least 2 dimensions [..., L, d]");
  if (auto fused = FusedAttention(q, k, v, mask, p, train)) return Wrap(info.Env(), *fused);
  double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = at::matmul(q, k.transpose(-1, -2));
  scores = mask ? at::add(at::mul(scores, scale), *mask) : at::mul(scores, scale);
  auto probs = at::softmax(scores, -1);
  if (p > 0 && train) probs = at::dropout(probs, p, true);
  return Wrap(info.Env(), at::matmul(probs, v));
  FLM_END
}

// ---------------------------------------------------------------- optimisers (no autograd)
namespace {

struct AdamwHyper {
  double lr, b1, b2, eps, wd, bc1, bc2;
  int64_t style;
};

bool FusableFloat(const at::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous(); }

// The element loop of FusedAdamwUpdate over [begin, end). It vectorises only because the addon is built
// with -fno-math-errno (binding.gyp; otherwise every sqrt keeps an errno branch); target_clones adds an AVX2
// copy picked at load time on CPUs that have it, as libtorch's own kernels dispatch.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((optimize("O3"), target_clones("avx2", "default")))
#elif defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("O3")))
#endif
void AdamwRange(float* P, const float* G, float* M, float* V, int64_t begin, int64_t end, float b1, float c1, float b2,
                float c2, float eps, float decay, float decayAfter, float sqrtBc2, float step, bool torchStyle, bool withDecay) {
  // the style and decay tests are loop-invariant: -O3 unswitches them into branch-free vectorised loops
  for (int64_t i = begin; i < end; i++) {
    const float gi = G[i];
    const float mi = M[i] * b1 + c1 * gi;
    const float vi = V[i] * b2 + c2 * gi * gi;
    M[i] = mi;
    V[i] = vi;
    float pi = P[i];
    if (torchStyle) {
      if (withDecay) pi *= decay;
      pi += step * (mi / (std::sqrt(vi) / sqrtBc2 + eps));
    } else {
      pi += step * (mi / (std::sqrt(vi) + eps));
      if (withDecay) pi += decayAfter * pi;
    }
    P[i] = pi;
  }
}

// One pass over a float32 CPU parameter: reads p, grad, exp_avg, exp_avg_sq once and writes p and the two
// moments once, where the ATen formula below makes about nine passes and two temporaries per tensor.
// Hand-written because libtorch 1.13 exposes no fused CPU AdamW (its `_fused_adamw_` is CUDA-only and
// later). The arithmetic is the ATen path's, in float32 as ATen's CPU kernels do it, so the two paths
// agree to float rounding. false: not fusable (other dtype or device, non-contiguous), use the ATen path.
bool FusedAdamwUpdate(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v, const AdamwHyper& h) {
  if (!FusableFloat(p) || !FusableFloat(g) || !FusableFloat(m) || !FusableFloat(v)) return false;
  if (g.numel() != p.numel() || m.numel() != p.numel() || v.numel() != p.numel()) return false;
  float* P = p.data_ptr<float>();
  const float* G = g.data_ptr<float>();
  float* M = m.data_ptr<float>();
  float* V = v.data_ptr<float>();
  const float b1 = static_cast<float>(h.b1), c1 = static_cast<float>(1 - h.b1);
  const float b2 = static_cast<float>(h.b2), c2 = static_cast<float>(1 - h.b2);
  const float eps = static_cast<float>(h.eps);
  const float decay = static_cast<float>(1 - h.lr * h.wd);  // torch style: p *= 1 - lr*wd first
  const float decayAfter = static_cast<float>(-h.lr * h.wd);  // hf style: p += -lr*wd * p after the update
  const float sqrtBc2 = static_cast<float>(std::sqrt(h.bc2));
  const bool torchStyle = h.style == 0, withDecay = h.wd != 0;
  const float step = static_cast<float>(torchStyle ? -h.lr / h.bc1 : -(h.lr * std::sqrt(h.bc2) / h.bc1));
  at::parallel_for(0, p.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    AdamwRange(P, G, M, V, begin, end, b1, c1, b2, c2, eps, decay, decayAfter, sqrtBc2, step, torchStyle, withDecay);
  });
  // writes through raw pointers skip the version counters that in-place ops bump: bump them, so autograd
  // still refuses a backward through a graph that saved the parameter before this update
  for (at::Tensor* t : {&p, &m, &v}) t->unsafeGetTensorImpl()->bump_version();
  return true;
}

void AtenAdamwUpdate(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v, const AdamwHyper& h) {
  m.mul_(h.b1).add_(g, 1 - h.b1);
  v.mul_(h.b2).addcmul_(g, g, 1 - h.b2);
  if (h.style == 0) {
    if (h.wd != 0) p.mul_(1 - h.lr * h.wd);
    auto denom = (v.sqrt() / std::sqrt(h.bc2)).add_(h.eps);
    p.addcdiv_(m, denom, -h.lr / h.bc1);
  } else {
    auto denom = v.sqrt().add_(h.eps);
    p.addcdiv_(m, denom, -(h.lr * std::sqrt(h.bc2) / h.bc1));
    if (h.wd != 0) p.add_(p, -h.lr * h.wd);
  }
}

}  // namespace

// adamwStep(params[], expAvg[], expAvgSq[], step, lr, beta1, beta2, eps, weightDecay, style, fused)
// style 0: torch.optim.AdamW (decay first: p *= 1 - lr*wd; bias-corrected denominators)
// style 1: transformers 4.6 AdamW (denom = sqrt(v) + eps before bias correction; decay after update)
// fused: one pass per float32 CPU tensor (FusedAdamwUpdate); false, or a tensor it cannot take: ATen ops.
// Parameters without a gradient are skipped entirely (as both implementations do).
FLM_FN(AdamwStep) {
  FLM_OP("adamwStep")
  auto params = TList(info, 0, kOp);
  auto m = TList(info, 1, kOp);
  auto v = TList(info, 2, kOp);
  if (m.size() != params.size() || v.size() != params.size()) ThrowArg(kOp, "state lists must match the parameter list");
  AdamwHyper h{};
  double step = ArgDouble(info, 3, kOp);
  h.lr = ArgDouble(info, 4, kOp);
  h.b1 = ArgDouble(info, 5, kOp);
  h.b2 = ArgDouble(info, 6, kOp);
  h.eps = ArgDouble(info, 7, kOp);
  h.wd = ArgDouble(info, 8, kOp);
  h.style = ArgInt(info, 9, kOp, {0, 1});
  bool fused = ArgBool(info, 10, kOp);
  h.bc1 = 1 - std::pow(h.b1, step);
  h.bc2 = 1 - std::pow(h.b2, step);
  at::NoGradGuard ng;
  for (size_t i = 0; i < params.size(); i++) {
    auto& p = params[i];
    const auto& g = p.grad();
    if (!g.defined()) continue;
    if (!p.sizes().equals(m[i].sizes()) || !p.sizes().equals(v[i].sizes())) ThrowArg(kOp, "a moment's shape differs from its parameter's");
    if (fused && FusedAdamwUpdate(p, g, m[i], v[i], h)) continue;
    AtenAdamwUpdate(p, g, m[i], v[i], h);
  }
  return info.Env().Undefined();
  FLM_END
}

// sgdStep(params[], momentumBufs[], lr, momentum, dampening, weightDecay, nesterov, firstStep)
FLM_FN(SgdStep) {
  FLM_OP("sgdStep")
  auto params = TList(info, 0, kOp);
  auto bufs = TList(info, 1, kOp);
  if (bufs.size() != params.size()) ThrowArg(kOp, "momentum buffers must match the parameter list");
  double lr = ArgDouble(info, 2, kOp);
  double mom = ArgDouble(info, 3, kOp);
  double damp = ArgDouble(info, 4, kOp);
  double wd = ArgDouble(info, 5, kOp);
  bool nesterov = ArgBool(info, 6, kOp);
  bool first = ArgBool(info, 7, kOp);
  at::NoGradGuard ng;
  for (size_t i = 0; i < params.size(); i++) {
    auto& p = params[i];
    if (!p.grad().defined()) continue;
    auto d = p.grad();
    if (wd != 0) d = d.add(p, wd);
    if (mom != 0) {
      if (first) bufs[i].copy_(d);
      else bufs[i].mul_(mom).add_(d, 1 - damp);
      d = nesterov ? d.add(bufs[i], mom) : bufs[i];
    }
    p.add_(d, -lr);
  }
  return info.Env().Undefined();
  FLM_END
}

// clipGradNorm(params[], maxNorm, normType) -> total norm (before clipping)
FLM_FN(ClipGradNorm) {
  FLM_OP("clipGradNorm")
  auto params = TList(info, 0, kOp);
  double maxNorm = ArgDouble(info, 1, kOp);
  double p = ArgDouble(info, 2, kOp);
  at::NoGradGuard ng;
  std::vector<at::Tensor> norms;
  for (auto& t : params)
    if (t.grad().defined()) norms.push_back(std::isinf(p) ? t.grad().abs().max().to(at::kFloat) : at::norm(t.grad(), p).to(at::kFloat));
  if (norms.empty()) return Napi::Number::New(info.Env(), 0.0);
  auto stacked = at::stack(norms);
  double total = std::isinf(p) ? stacked.max().item<double>() : at::norm(stacked, p).item<double>();
  double coef = maxNorm / (total + 1e-6);
  if (coef < 1)
    for (auto& t : params)
      if (t.grad().defined()) t.grad().mul_(coef);
  return Napi::Number::New(info.Env(), total);
  FLM_END
}

// zeroGrads(params[]): set every .grad to undefined (set_to_none, as PyTorch 2 defaults).
FLM_FN(ZeroGrads) {
  FLM_OP("zeroGrads")
  auto params = TList(info, 0, kOp);
  for (auto& t : params) t.mutable_grad() = at::Tensor();
  return info.Env().Undefined();
  FLM_END
}

}  // namespace flm
