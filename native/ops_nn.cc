// Neural-network functional ops and the fused optimiser updates.
#include <ATen/core/grad_mode.h>

#include <cmath>

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
  double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = at::matmul(q, k.transpose(-1, -2));
  scores = mask ? at::add(at::mul(scores, scale), *mask) : at::mul(scores, scale);
  auto probs = at::softmax(scores, -1);
  if (p > 0 && train) probs = at::dropout(probs, p, true);
  return Wrap(info.Env(), at::matmul(probs, v));
  FLM_END
}

// ---------------------------------------------------------------- optimisers (no autograd)
// adamwStep(params[], grads-from-.grad, expAvg[], expAvgSq[], step, lr, beta1, beta2, eps, weightDecay, style)
// style 0: torch.optim.AdamW (decay first: p *= 1 - lr*wd; bias-corrected denominators)
// style 1: transformers 4.6 AdamW (denom = sqrt(v) + eps before bias correction; decay after update)
// Parameters without a gradient are skipped entirely (as both implementations do).
FLM_FN(AdamwStep) {
  FLM_OP("adamwStep")
  auto params = TList(info, 0, kOp);
  auto m = TList(info, 1, kOp);
  auto v = TList(info, 2, kOp);
  if (m.size() != params.size() || v.size() != params.size()) ThrowArg(kOp, "state lists must match the parameter list");
  double step = ArgDouble(info, 3, kOp);
  double lr = ArgDouble(info, 4, kOp);
  double b1 = ArgDouble(info, 5, kOp);
  double b2 = ArgDouble(info, 6, kOp);
  double eps = ArgDouble(info, 7, kOp);
  double wd = ArgDouble(info, 8, kOp);
  int64_t style = ArgInt(info, 9, kOp, {0, 1});
  at::NoGradGuard ng;
  double bc1 = 1 - std::pow(b1, step);
  double bc2 = 1 - std::pow(b2, step);
  for (size_t i = 0; i < params.size(); i++) {
    auto& p = params[i];
    const auto& g = p.grad();
    if (!g.defined()) continue;
    m[i].mul_(b1).add_(g, 1 - b1);
    v[i].mul_(b2).addcmul_(g, g, 1 - b2);
    if (style == 0) {
      if (wd != 0) p.mul_(1 - lr * wd);
      auto denom = (v[i].sqrt() / std::sqrt(bc2)).add_(eps);
      p.addcdiv_(m[i], denom, -lr / bc1);
    } else {
      auto denom = v[i].sqrt().add_(eps);
      double stepSize = lr * std::sqrt(bc2) / bc1;
      p.addcdiv_(m[i], denom, -stepSize);
      if (wd != 0) p.add_(p, -lr * wd);
    }
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
