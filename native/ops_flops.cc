// FLOP counting for `flm bench step`: while on, every matrix product and convolution libtorch runs
// (forward and the backward ops the autograd engine runs) adds its FLOPs, computed from its operand
// shapes. It sees what the PyTorch profiler sees: a RecordFunction callback on every aten op.
//
// Only the kernels are counted, never the composites that call them (aten::linear and aten::matmul reach
// aten::addmm / aten::mm / aten::bmm, which are counted), so nothing is counted twice. A multiply-add is 2
// FLOPs; the bias add of addmm / baddbmm and the rest of the step (softmax, layer norm, AdamW) are not
// counted, as in torch.utils.flop_counter. bench/flops_peer.py counts the PyTorch reference the same way.
// An op counts as backward when grad mode is off: the autograd engine runs backward ops with it off, and
// the forward of a training step runs with it on.
// libtorch is built with NDEBUG, and RecordFunction has a member (inputs_valid_) only without it: its inline
// inputs() compiled here without NDEBUG read a byte of padding as that flag and failed at random. This file
// sees the class as libtorch does.
#ifndef NDEBUG
#define NDEBUG
#endif
#include <ATen/core/grad_mode.h>
#include <ATen/record_function.h>

#include <array>
#include <cstring>
#include <mutex>
#include <thread>

#include "core.h"

namespace flm {

namespace {

enum Kind { kMm, kAddmm, kBmm, kBaddbmm, kAddbmm, kMv, kConv, kConvBackward, kFusedAttention, kKinds };
constexpr const char* kNames[kKinds] = {"mm", "addmm", "bmm", "baddbmm", "addbmm", "mv", "convolution", "convolution_backward", "attention (fused)"};
// The fused attention's phases (attention.cc) record "flm::attention_<phase>" with their multiply-adds as
// the one input; their forward runs inside an autograd node, where grad mode is off, so the phase's name
// says whether it is backward.
constexpr const char* kFusedAttentionPrefix = "flm::attention_";

struct Counts {
  std::array<std::atomic<int64_t>, kKinds> calls{};
  std::array<std::atomic<int64_t>, kKinds> forward{};
  std::array<std::atomic<int64_t>, kKinds> backward{};
};
Counts g_counts;
std::mutex g_mu;  // guards g_handle
at::CallbackHandle g_handle = 0;
bool g_on = false;
std::thread::id g_thread;  // the thread that started counting: its callback is thread-local

int KindOf(const char* name) {
  if (std::strncmp(name, kFusedAttentionPrefix, std::strlen(kFusedAttentionPrefix)) == 0) return kFusedAttention;
  if (std::strncmp(name, "aten::", 6) != 0) return -1;
  name += 6;
  for (int k = 0; k < kKinds; k++)
    if (std::strcmp(name, kNames[k]) == 0) return k;
  return -1;
}

c10::IntArrayRef SizesAt(c10::ArrayRef<const c10::IValue> in, size_t i) {
  if (i >= in.size() || !in[i].isTensor()) return {};
  const at::Tensor& t = in[i].toTensor();
  return t.defined() ? t.sizes() : c10::IntArrayRef();
}

std::vector<int64_t> IntsAt(c10::ArrayRef<const c10::IValue> in, size_t i) {
  if (i >= in.size() || !in[i].isIntList()) return {};
  return in[i].toIntVector();
}

int64_t Prod(c10::IntArrayRef s, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < s.size(); i++) p *= s[i];
  return p;
}

// 2 * batch * |weight| * (output positions), the count of torch.utils.flop_counter's conv_flop_count.
// `out` are the output's spatial sizes (the input's for a transposed convolution, whose weight runs over
// every input position).
int64_t ConvFlops(int64_t batch, c10::IntArrayRef weight, const std::vector<int64_t>& positions) {
  int64_t p = 1;
  for (auto v : positions) p *= v;
  return 2 * batch * Prod(weight) * p;
}

int64_t FlopsOf(int kind, c10::ArrayRef<const c10::IValue> in) {
  switch (kind) {
    case kMm: {  // [M, K] x [K, N]
      auto a = SizesAt(in, 0), b = SizesAt(in, 1);
      return a.size() == 2 && b.size() == 2 ? 2 * a[0] * a[1] * b[1] : 0;
    }
    case kAddmm: {  // self, [M, K], [K, N]
      auto a = SizesAt(in, 1), b = SizesAt(in, 2);
      return a.size() == 2 && b.size() == 2 ? 2 * a[0] * a[1] * b[1] : 0;
    }
    case kBmm: {  // [B, M, K] x [B, K, N]
      auto a = SizesAt(in, 0), b = SizesAt(in, 1);
      return a.size() == 3 && b.size() == 3 ? 2 * a[0] * a[1] * a[2] * b[2] : 0;
    }
    case kBaddbmm:
    case kAddbmm: {  // self, [B, M, K], [B, K, N]
      auto a = SizesAt(in, 1), b = SizesAt(in, 2);
      return a.size() == 3 && b.size() == 3 ? 2 * a[0] * a[1] * a[2] * b[2] : 0;
    }
    case kFusedAttention:  // the phase's multiply-adds
      return !in.empty() && in[0].isInt() ? 2 * in[0].toInt() : 0;
    case kMv: {  // [M, N] x [N]
      auto a = SizesAt(in, 0);
      return a.size() == 2 ? 2 * a[0] * a[1] : 0;
    }
    case kConv: {  // input, weight, bias, stride, padding, dilation, transposed, output_padding, groups
      auto x = SizesAt(in, 0), w = SizesAt(in, 1);
      if (x.size() < 3 || w.size() != x.size()) return 0;
      bool transposed = in.size() > 6 && in[6].isBool() && in[6].toBool();
      auto stride = IntsAt(in, 3), padding = IntsAt(in, 4), dilation = IntsAt(in, 5);
      std::vector<int64_t> positions;
      for (size_t d = 2; d < x.size(); d++) {
        if (transposed) {
          positions.push_back(x[d]);
          continue;
        }
        size_t j = d - 2;
        int64_t s = j < stride.size() ? stride[j] : 1, p = j < padding.size() ? padding[j] : 0, dl = j < dilation.size() ? dilation[j] : 1;
        positions.push_back(s > 0 ? (x[d] + 2 * p - dl * (w[d] - 1) - 1) / s + 1 : 0);
      }
      return ConvFlops(x[0], w, positions);
    }
    case kConvBackward: {  // grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed, output_padding, groups, output_mask
      auto g = SizesAt(in, 0), x = SizesAt(in, 1), w = SizesAt(in, 2);
      if (g.size() < 3 || x.size() != g.size()) return 0;
      bool transposed = in.size() > 7 && in[7].isBool() && in[7].toBool();
      std::vector<int64_t> positions;
      for (size_t d = 2; d < g.size(); d++) positions.push_back(transposed ? x[d] : g[d]);
      int64_t one = ConvFlops(g[0], w, positions);
      // output_mask: grad_input, grad_weight, grad_bias; each of the first two costs one forward
      int64_t n = 2;
      if (in.size() > 10 && in[10].isBoolList()) {
        auto mask = in[10].toBoolList();
        n = (mask.size() > 0 && mask.get(0) ? 1 : 0) + (mask.size() > 1 && mask.get(1) ? 1 : 0);
      }
      return n * one;
    }
  }
  return 0;
}

// Runs on every aten op while counting (a thread-local callback: the counting thread, and the autograd
// engine's backward, which inherits its thread-local state); throws nothing.
std::unique_ptr<at::ObserverContext> OnOp(const at::RecordFunction& fn) {
  try {
    int kind = KindOf(fn.name());
    if (kind < 0) return nullptr;
    int64_t flops = FlopsOf(kind, fn.inputs());
    g_counts.calls[kind]++;
    bool forward = kind == kFusedAttention ? std::strstr(fn.name(), "backward") == nullptr : at::GradMode::is_enabled();
    (forward ? g_counts.forward : g_counts.backward)[kind] += flops;
  } catch (...) {
    // an operand this code did not expect: not counted
  }
  return nullptr;
}

}  // namespace

// flopCounterStart(): zeroes the counts and starts counting (an error if already counting).
FLM_FN(FlopCounterStart) {
  FLM_OP("flopCounterStart")
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_on) ThrowArg(kOp, "the FLOP counter is already on");
  for (int k = 0; k < kKinds; k++) g_counts.calls[k] = g_counts.forward[k] = g_counts.backward[k] = 0;
  g_handle = at::addThreadLocalCallback(at::RecordFunctionCallback(OnOp).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
  g_on = true;
  g_thread = std::this_thread::get_id();
  return info.Env().Undefined();
  FLM_END
}

// flopCounterStop(): stops counting; the counts by op (ops never run are left out).
FLM_FN(FlopCounterStop) {
  FLM_OP("flopCounterStop")
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_on) ThrowArg(kOp, "the FLOP counter is not on");
  if (std::this_thread::get_id() != g_thread) ThrowArg(kOp, "the FLOP counter was started on another thread (worker): stop it there");
  at::removeCallback(g_handle);
  g_on = false;
  auto env = info.Env();
  auto out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int k = 0; k < kKinds; k++) {
    if (g_counts.calls[k] == 0) continue;
    auto o = Napi::Object::New(env);
    o.Set("op", Napi::String::New(env, kNames[k]));
    o.Set("calls", Napi::Number::New(env, static_cast<double>(g_counts.calls[k].load())));
    o.Set("forward", Napi::Number::New(env, static_cast<double>(g_counts.forward[k].load())));
    o.Set("backward", Napi::Number::New(env, static_cast<double>(g_counts.backward[k].load())));
    out.Set(n++, o);
  }
  return out;
  FLM_END
}

}  // namespace flm
