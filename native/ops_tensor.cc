// Tensor metadata, lifetime, host transfer, creation, randomness, autograd, threads and build info.
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Version.h>
#include <ATen/Context.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "core.h"

namespace flm {

// ---------------------------------------------------------------- metadata / lifetime
FLM_FN(Shape) {
  FLM_OP("shape")
  const auto& t = T(info, 0, kOp);
  auto s = t.sizes();
  auto arr = Napi::Array::New(info.Env(), s.size());
  for (size_t i = 0; i < s.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(s[i])));
  return arr;
  FLM_END
}

FLM_FN(Strides) {
  FLM_OP("strides")
  const auto& t = T(info, 0, kOp);
  auto s = t.strides();
  auto arr = Napi::Array::New(info.Env(), s.size());
  for (size_t i = 0; i < s.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(s[i])));
  return arr;
  FLM_END
}

FLM_FN(Dtype) {
  FLM_OP("dtype")
  return Napi::Number::New(info.Env(), static_cast<double>(CodeFromDtype(T(info, 0, kOp).scalar_type())));
  FLM_END
}

FLM_FN(Device) {
  FLM_OP("device")
  return Napi::String::New(info.Env(), T(info, 0, kOp).device().str());
  FLM_END
}

FLM_FN(IsContiguous) {
  FLM_OP("isContiguous")
  return Napi::Boolean::New(info.Env(), T(info, 0, kOp).is_contiguous());
  FLM_END
}

// isDisposed(h): true when h was a tensor handle that is freed; "must be a tensor" for anything else.
FLM_FN(IsDisposed) {
  FLM_OP("isDisposed")
  double h = 0;
  if (napi_get_value_double(info.Env(), info[0], &h) != napi_ok) ThrowArg(kOp, ArgPos(kOp, 0) + " must be a tensor");
  bool known = false;
  bool live = TableOf(info.Env()).Find(h, &known) != nullptr;
  if (!known) ThrowArg(kOp, ArgPos(kOp, 0) + " must be a tensor");
  return Napi::Boolean::New(info.Env(), !live);
  FLM_END
}

// Releases this handle's reference now (the storage goes when its last reference goes). Idempotent: a
// freed handle is left alone; anything that never was a handle is "must be a tensor".
FLM_FN(Dispose) {
  FLM_OP("dispose")
  double h = 0;
  if (napi_get_value_double(info.Env(), info[0], &h) != napi_ok) ThrowArg(kOp, ArgPos(kOp, 0) + " must be a tensor");
  TensorTable& table = TableOf(info.Env());
  if (!table.Release(info.Env(), h)) {
    bool known = false;
    table.Find(h, &known);
    if (!known) ThrowArg(kOp, ArgPos(kOp, 0) + " must be a tensor");
  }
  return info.Env().Undefined();
  FLM_END
}

FLM_FN(Memory) {
  FLM_OP("memory")
  auto o = Napi::Object::New(info.Env());
  o.Set("numTensors", Napi::Number::New(info.Env(), static_cast<double>(g_live_tensors.load())));
  o.Set("numBytes", Napi::Number::New(info.Env(), static_cast<double>(g_live_bytes.load())));
  return o;
  FLM_END
}

// A second handle to the same tensor (shares storage and autograd identity).
FLM_FN(Alias) {
  FLM_OP("alias")
  return Wrap(info.Env(), T(info, 0, kOp), /*report=*/false);
  FLM_END
}

FLM_FN(SameTensor) {
  FLM_OP("sameTensor")
  return Napi::Boolean::New(info.Env(), T(info, 0, kOp).is_same(T(info, 1, kOp)));
  FLM_END
}

FLM_FN(DataPtrEqual) {
  FLM_OP("sharesStorage")
  return Napi::Boolean::New(info.Env(), T(info, 0, kOp).storage().is_alias_of(T(info, 1, kOp).storage()));
  FLM_END
}

// ---------------------------------------------------------------- host transfer
static size_t ElemSize(at::ScalarType st) { return c10::elementSize(st); }

static size_t TypedArrayElementSize(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;  // float64, bigint64, biguint64
  }
}

// fromBuffer(arrayBufferView, dtypeCode, shape, device?) -> copy of the bytes as a tensor.
// Reading the other arguments can run user code (a getter on an entry of the shape array) that shrinks,
// resizes or detaches the view's buffer, so they are all read first; the view's bytes are located,
// checked against the shape and copied last, with no call back into JavaScript in between.
FLM_FN(FromBuffer) {
  FLM_OP("fromBuffer")
  bool isDataView = info[0].IsDataView();
  if (!info[0].IsTypedArray() && !isDataView) ThrowArg(kOp, "argument 0 must be a TypedArray, Buffer or DataView");
  auto st = ArgDtype(info, 1, kOp);
  auto shape = ArgShape(info, 2, kOp, static_cast<int64_t>(ElemSize(st)));
  auto dev = ArgDevice(info, 3, kOp);
  int64_t n = 1;
  for (auto d : shape) n *= d;  // ArgShape checked that n * elementSize fits
  size_t need = static_cast<size_t>(n) * ElemSize(st);
  // From here on nothing runs JavaScript until the copy is done.
  napi_env env = info.Env();
  void* data = nullptr;
  size_t len = 0, offset = 0;
  napi_value ab = nullptr;
  napi_status status;
  if (isDataView) {
    status = napi_get_dataview_info(env, info[0], &len, &data, &ab, &offset);
  } else {
    napi_typedarray_type type;
    size_t elems = 0;
    status = napi_get_typedarray_info(env, info[0], &type, &elems, &data, &ab, &offset);
    len = elems * TypedArrayElementSize(type);
  }
  if (status != napi_ok) ThrowArg(kOp, "cannot read the bytes of argument 0");
  // A (non-shared) ArrayBuffer must still hold the whole view: detached, or resized below the view's end,
  // it does not, whatever the view reports.
  bool isArrayBuffer = false;
  if (napi_is_arraybuffer(env, ab, &isArrayBuffer) == napi_ok && isArrayBuffer) {
    bool detached = false;
    if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached) {
      if (need) ThrowArg(kOp, "the buffer of argument 0 was detached");
      len = 0;
    } else {
      void* base = nullptr;
      size_t abLen = 0;
      if (napi_get_arraybuffer_info(env, ab, &base, &abLen) != napi_ok) ThrowArg(kOp, "cannot read the bytes of argument 0");
      if (offset > abLen || len > abLen - offset)
        ThrowArg(kOp, "the buffer of argument 0 holds " + std::to_string(abLen) + " bytes, less than its view's end (" +
                          std::to_string(offset + len) + ")");
    }
  }
  if (need != len)
    ThrowArg(kOp, "buffer holds " + std::to_string(len) + " bytes but shape and dtype need " + std::to_string(need));
  auto t = at::empty(shape, at::TensorOptions().dtype(st));
  if (need) std::memcpy(t.data_ptr(), data, need);
  if (!dev.is_cpu()) t = t.to(dev);
  return Wrap(info.Env(), t);
  FLM_END
}

// toBuffer(t) -> ArrayBuffer holding a contiguous CPU copy of the values.
FLM_FN(ToBuffer) {
  FLM_OP("toBuffer")
  auto t = T(info, 0, kOp).detach().to(at::kCPU).contiguous();
  size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  auto ab = Napi::ArrayBuffer::New(info.Env(), n);
  if (n) std::memcpy(ab.Data(), t.data_ptr(), n);
  return ab;
  FLM_END
}

// dataView(t): zero-copy ArrayBuffer over a contiguous CPU tensor's memory; it keeps the storage alive.
FLM_FN(DataView) {
  FLM_OP("dataView")
  const auto& t = T(info, 0, kOp);
  if (!t.is_cpu() || !t.is_contiguous()) ThrowArg(kOp, "dataView needs a contiguous CPU tensor");
  size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  if (n == 0) return Napi::ArrayBuffer::New(info.Env(), 0);
  auto* keep = new at::Tensor(t);
  return Napi::ArrayBuffer::New(info.Env(), t.data_ptr(), n, [](Napi::BasicEnv, void*, at::Tensor* k) { delete k; }, keep);
  FLM_END
}

FLM_FN(Item) {
  FLM_OP("item")
  const auto& t = T(info, 0, kOp);
  if (t.numel() != 1) ThrowArg(kOp, "item() needs a tensor with exactly one element, got " + std::to_string(t.numel()));
  auto s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
  return Napi::Number::New(info.Env(), s.toDouble());
  FLM_END
}

// ---------------------------------------------------------------- creation
FLM_FN(Empty) {
  FLM_OP("empty")
  return Wrap(info.Env(), at::empty(ArgShape(info, 0, kOp), ArgOptions(info, 1, 2, kOp)));
  FLM_END
}
FLM_FN(Zeros) {
  FLM_OP("zeros")
  return Wrap(info.Env(), at::zeros(ArgShape(info, 0, kOp), ArgOptions(info, 1, 2, kOp)));
  FLM_END
}
FLM_FN(Ones) {
  FLM_OP("ones")
  return Wrap(info.Env(), at::ones(ArgShape(info, 0, kOp), ArgOptions(info, 1, 2, kOp)));
  FLM_END
}
FLM_FN(Full) {
  FLM_OP("full")
  return Wrap(info.Env(), at::full(ArgShape(info, 0, kOp), ArgScalar(info, 1, kOp), ArgOptions(info, 2, 3, kOp)));
  FLM_END
}
FLM_FN(Arange) {
  FLM_OP("arange")
  return Wrap(info.Env(), at::arange(ArgScalar(info, 0, kOp), ArgScalar(info, 1, kOp), ArgScalar(info, 2, kOp),
                                     ArgOptions(info, 3, 4, kOp)));
  FLM_END
}
FLM_FN(Linspace) {
  FLM_OP("linspace")
  return Wrap(info.Env(), at::linspace(ArgScalar(info, 0, kOp), ArgScalar(info, 1, kOp), ArgInt(info, 2, kOp),
                                       ArgOptions(info, 3, 4, kOp)));
  FLM_END
}
FLM_FN(Eye) {
  FLM_OP("eye")
  return Wrap(info.Env(), at::eye(ArgInt(info, 0, kOp), ArgInt(info, 1, kOp), ArgOptions(info, 2, 3, kOp)));
  FLM_END
}
FLM_FN(Randn) {
  FLM_OP("randn")
  return Wrap(info.Env(), at::randn(ArgShape(info, 0, kOp), DefaultGen(), ArgOptions(info, 1, 2, kOp)));
  FLM_END
}
FLM_FN(Rand) {
  FLM_OP("rand")
  return Wrap(info.Env(), at::rand(ArgShape(info, 0, kOp), DefaultGen(), ArgOptions(info, 1, 2, kOp)));
  FLM_END
}
FLM_FN(Randint) {
  FLM_OP("randint")
  auto o = ArgOptions(info, 3, 4, kOp);
  if (!OptDtype(info, 3, kOp)) o = o.dtype(at::kLong);
  auto low = ArgInt(info, 0, kOp);
  auto high = ArgInt(info, 1, kOp);
  auto shape = ArgShape(info, 2, kOp);
  if (!(low < high)) ThrowArg(kOp, "high (" + std::to_string(high) + ") must be greater than low (" + std::to_string(low) + ")");
  return Wrap(info.Env(), at::randint(low, high, shape, DefaultGen(), o));
  FLM_END
}
FLM_FN(Randperm) {
  FLM_OP("randperm")
  auto o = ArgOptions(info, 1, 2, kOp);
  if (!OptDtype(info, 1, kOp)) o = o.dtype(at::kLong);
  return Wrap(info.Env(), at::randperm(ArgInt(info, 0, kOp), DefaultGen(), o));
  FLM_END
}
// Distribution parameters held in a tensor: every element must satisfy `ok` (NaN fails every test), checked
// before sampling (libtorch's binomial sampler never returns for a NaN count).
template <class F>
static void CheckAll(const char* op, const at::Tensor& t, const char* what, const char* rule, F ok) {
  at::NoGradGuard ng;
  if (t.numel() == 0) return;
  if (!ok(t.detach()).all().template item<bool>()) ThrowArg(op, std::string(what) + " must be " + rule + " (every element)");
}
FLM_FN(Bernoulli) {
  FLM_OP("bernoulli")
  const auto& p = T(info, 0, kOp);
  CheckAll(kOp, p, "probabilities p", "in [0, 1]", [](const at::Tensor& x) { return at::logical_and(x >= 0, x <= 1); });
  return Wrap(info.Env(), at::bernoulli(p, DefaultGen()));
  FLM_END
}
FLM_FN(BernoulliP) {
  FLM_OP("bernoulli")
  const auto& like = T(info, 0, kOp);
  auto p = ArgDouble(info, 1, kOp);
  if (!(p >= 0 && p <= 1)) ThrowArg(kOp, "p must be in [0, 1], got " + std::to_string(p));
  return Wrap(info.Env(), at::bernoulli(like, p, DefaultGen()));
  FLM_END
}
FLM_FN(Binomial) {
  FLM_OP("binomial")
  const auto& count = T(info, 0, kOp);
  const auto& prob = T(info, 1, kOp);
  // libtorch's sampler loops forever on a NaN or infinite count (and misbehaves on a negative one).
  CheckAll(kOp, count, "count", "finite and >= 0", [](const at::Tensor& x) { return at::logical_and(at::isfinite(x), x >= 0); });
  CheckAll(kOp, prob, "prob", "in [0, 1]", [](const at::Tensor& x) { return at::logical_and(x >= 0, x <= 1); });
  return Wrap(info.Env(), at::binomial(count, prob, DefaultGen()));
  FLM_END
}
FLM_FN(Multinomial) {
  FLM_OP("multinomial")
  const auto& probs = T(info, 0, kOp);
  auto n = ArgInt(info, 1, kOp, kPositive);
  bool replacement = ArgBool(info, 2, kOp);
  CheckAll(kOp, probs, "probabilities", "finite and >= 0", [](const at::Tensor& x) { return at::logical_and(at::isfinite(x), x >= 0); });
  return Wrap(info.Env(), at::multinomial(probs, n, replacement, DefaultGen()));
  FLM_END
}
FLM_FN(Normal_) {
  FLM_OP("normal_")
  auto t = T(info, 0, kOp);
  double mean = ArgFinite(info, 1, kOp);
  double std = ArgFinite(info, 2, kOp, 0);
  t.normal_(mean, std, DefaultGen());
  return info[0];
  FLM_END
}
FLM_FN(Uniform_) {
  FLM_OP("uniform_")
  auto t = T(info, 0, kOp);
  double low = ArgFinite(info, 1, kOp);
  double high = ArgFinite(info, 2, kOp, low);
  t.uniform_(low, high, DefaultGen());
  return info[0];
  FLM_END
}

// ---------------------------------------------------------------- randomness state
FLM_FN(ManualSeed) {
  FLM_OP("manualSeed")
  auto seed = static_cast<uint64_t>(ArgInt(info, 0, kOp, kSeed));
  {
    std::lock_guard<std::mutex> lock(DefaultGen().mutex());
    DefaultGen().set_current_seed(seed);
  }
  at::manual_seed(seed);  // also seeds CUDA generators when present
  return info.Env().Undefined();
  FLM_END
}

FLM_FN(GetRngState) {
  FLM_OP("getRngState")
  at::Tensor st;
  {
    std::lock_guard<std::mutex> lock(DefaultGen().mutex());
    st = DefaultGen().get_state();
  }
  return Wrap(info.Env(), st);
  FLM_END
}

FLM_FN(SetRngState) {
  FLM_OP("setRngState")
  const auto& st = T(info, 0, kOp);
  if (st.scalar_type() != at::kByte || st.dim() != 1) ThrowArg(kOp, "RNG state must be a 1-D uint8 tensor");
  std::lock_guard<std::mutex> lock(DefaultGen().mutex());
  DefaultGen().set_state(st);
  return info.Env().Undefined();
  FLM_END
}

// ---------------------------------------------------------------- autograd
FLM_FN(RequiresGrad) {
  FLM_OP("requiresGrad")
  return Napi::Boolean::New(info.Env(), T(info, 0, kOp).requires_grad());
  FLM_END
}
FLM_FN(SetRequiresGrad) {
  FLM_OP("requiresGrad_")
  auto t = T(info, 0, kOp);
  t.set_requires_grad(ArgBool(info, 1, kOp));
  return info[0];
  FLM_END
}
FLM_FN(Grad) {
  FLM_OP("grad")
  return Wrap(info.Env(), T(info, 0, kOp).grad());
  FLM_END
}
FLM_FN(SetGrad) {
  FLM_OP("setGrad")
  auto t = T(info, 0, kOp);
  auto g = OptT(info, 1, kOp);
  // As PyTorch's `.grad =` setter: a gradient must match the tensor's dtype, device and shape.
  if (g) {
    if (g->scalar_type() != t.scalar_type())
      ThrowArg(kOp, std::string("assigned grad has dtype ") + c10::toString(g->scalar_type()) + " but the tensor has " + c10::toString(t.scalar_type()));
    if (g->device() != t.device()) ThrowArg(kOp, "assigned grad is on " + g->device().str() + " but the tensor is on " + t.device().str());
    if (!g->sizes().equals(t.sizes())) ThrowArg(kOp, "assigned grad has shape " + c10::str(g->sizes()) + " but the tensor has shape " + c10::str(t.sizes()));
  }
  t.mutable_grad() = g ? *g : at::Tensor();
  return info.Env().Undefined();
  FLM_END
}
FLM_FN(IsLeaf) {
  FLM_OP("isLeaf")
  return Napi::Boolean::New(info.Env(), T(info, 0, kOp).is_leaf());
  FLM_END
}
FLM_FN(RetainGrad) {
  FLM_OP("retainGrad")
  auto t = T(info, 0, kOp);
  t.retain_grad();
  return info[0];
  FLM_END
}
FLM_FN(Detach) {
  FLM_OP("detach")
  return Wrap(info.Env(), T(info, 0, kOp).detach());
  FLM_END
}
// backward(t, grad|null, retainGraph)
FLM_FN(Backward) {
  FLM_OP("backward")
  auto t = T(info, 0, kOp);
  auto g = OptT(info, 1, kOp);
  bool retain = ArgBool(info, 2, kOp);
  if (!t.requires_grad()) ThrowArg(kOp, "the tensor does not require grad and has no grad_fn");
  if (!g && t.numel() != 1) ThrowArg(kOp, "grad can be implicitly created only for scalar outputs; pass a gradient");
  t.backward(g ? *g : at::Tensor(), retain, false);
  return info.Env().Undefined();
  FLM_END
}
// grads(outputs[], inputs[], gradOutputs[]|null, retainGraph, createGraph, allowUnused) via autograd::grad
FLM_FN(SetGradEnabled) {
  FLM_OP("setGradEnabled")
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(ArgBool(info, 0, kOp));
  return Napi::Boolean::New(info.Env(), prev);
  FLM_END
}
FLM_FN(IsGradEnabled) {
  FLM_OP("isGradEnabled")
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
  FLM_END
}

// ---------------------------------------------------------------- threads / info
// Thread counts are capped: OpenMP sizes its team by the count at the next parallel region, so
// setNumThreads(2^31 - 1) made libgomp exit the process ("Out of memory allocating 481036338272 bytes")
// and a thousand threads on two cores ran a 4M-element op for minutes. More threads than 4x the
// hardware threads (at least 64) only slow libtorch down.
static IntRange ThreadRange() {
  int64_t hw = static_cast<int64_t>(std::thread::hardware_concurrency());
  return IntRange{1, std::max<int64_t>(64, 4 * hw)};
}
FLM_FN(SetNumThreads) {
  FLM_OP("setNumThreads")
  auto n = ArgInt(info, 0, kOp, ThreadRange());
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
  FLM_END
}
FLM_FN(GetNumThreads) {
  FLM_OP("getNumThreads")
  return Napi::Number::New(info.Env(), at::get_num_threads());
  FLM_END
}
// parallelForThreads(): how many threads an at::parallel_for compiled into this addon runs on (the fused
// kernels' and AdamW's loops): getNumThreads() when the addon is built with OpenMP, 1 when it is not.
FLM_FN(ParallelForThreads) {
  FLM_OP("parallelForThreads")
  std::atomic<int> most{0};
  at::parallel_for(0, 1 << 16, 1, [&](int64_t, int64_t) {
    int n = at::get_thread_num() + 1;
    int seen = most.load();
    while (n > seen && !most.compare_exchange_weak(seen, n)) {
    }
  });
  return Napi::Number::New(info.Env(), most.load());
  FLM_END
}
// autocastEnter(device 'cpu'|'cuda', dtype) -> [prevEnabled, prevDtypeCode]: what torch.autocast's
// __enter__ does (enable, set the lower-precision dtype, one nesting level deeper).
FLM_FN(AutocastEnter) {
  FLM_OP("autocastEnter")
  auto device = ArgString(info, 0, kOp);
  auto dtype = ArgDtype(info, 1, kOp);
  if (device != "cpu" && device != "cuda") ThrowArg(kOp, "device must be 'cpu' or 'cuda', got '" + device + "'");
  if (dtype != at::kBFloat16 && dtype != at::kHalf) ThrowArg(kOp, "autocast dtype must be bfloat16 or float16");
  if (device == "cpu" && dtype != at::kBFloat16) ThrowArg(kOp, "CPU autocast supports bfloat16 only");
  bool cpu = device == "cpu";
  bool prev = cpu ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
  auto prevDtype = cpu ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
  if (cpu) {
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
  at::autocast::increment_nesting();
  auto out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Boolean::New(info.Env(), prev));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(CodeFromDtype(prevDtype))));
  return out;
  FLM_END
}
// autocastExit(device, prevEnabled, prevDtypeCode): __exit__ (the cast cache is cleared when the
// outermost region ends).
FLM_FN(AutocastExit) {
  FLM_OP("autocastExit")
  auto device = ArgString(info, 0, kOp);
  bool prev = ArgBool(info, 1, kOp);
  auto prevDtype = DtypeFromCode(ArgInt(info, 2, kOp), kOp);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (device == "cpu") {
    at::autocast::set_cpu_enabled(prev);
    at::autocast::set_autocast_cpu_dtype(prevDtype);
  } else {
    at::autocast::set_enabled(prev);
    at::autocast::set_autocast_gpu_dtype(prevDtype);
  }
  return info.Env().Undefined();
  FLM_END
}
FLM_FN(SetNumInteropThreads) {
  FLM_OP("setNumInteropThreads")
  auto n = ArgInt(info, 0, kOp, ThreadRange());
  at::set_num_interop_threads(static_cast<int>(n));
  return info.Env().Undefined();
  FLM_END
}
FLM_FN(BuildInfo) {
  FLM_OP("buildInfo")
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("torchVersion", Napi::String::New(env, std::to_string(TORCH_VERSION_MAJOR) + "." +
                                                  std::to_string(TORCH_VERSION_MINOR) + "." +
                                                  std::to_string(TORCH_VERSION_PATCH)));
  o.Set("cudaAvailable", Napi::Boolean::New(env, at::hasCUDA()));
  o.Set("config", Napi::String::New(env, at::show_config()));
  o.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
  o.Set("numThreads", Napi::Number::New(env, at::get_num_threads()));
#ifdef FLM_WITH_CUDA
  o.Set("builtWithCuda", Napi::Boolean::New(env, true));
#else
  o.Set("builtWithCuda", Napi::Boolean::New(env, false));
#endif
  return o;
  FLM_END
}

}  // namespace flm
