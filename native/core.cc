#include "core.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <unordered_map>

namespace flm {

std::atomic<int64_t> g_live_tensors{0};
std::atomic<int64_t> g_live_bytes{0};
thread_local const char* g_current_fn = nullptr;

[[noreturn]] void ThrowArg(const char* op, const std::string& msg) {
  throw std::invalid_argument(msg);
}

static const char* DtypeName(at::ScalarType st) {
  static const char* kNames[] = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool", "int8", "int16"};
  int64_t c = CodeFromDtype(st);
  return c >= 0 ? kNames[c] : c10::toString(st);
}

static std::string ParamName(const char* sig, int i, std::string* type = nullptr);
static const char* SignatureOf(const char* fn);
// A parameter type of ops.def that holds one tensor handle: H, Opt<H>, H | null.
static bool IsTensorType(const std::string& type) {
  return type == "H" || type == "Opt<H>" || type == "H | null";
}

Napi::Error MakeTorchError(const Napi::CallbackInfo& info, const char* op, const std::string& msg) {
  Napi::Env env = info.Env();
  // libtorch messages can carry a trailing "Exception raised from ..." block: keep the first part.
  std::string m = msg;
  auto cut = m.find("\nException raised from");
  if (cut != std::string::npos) m = m.substr(0, cut);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();

  // The tensor arguments (and tensors in array arguments) the op was called with: "a: float32 [2, 3]".
  // Which arguments are tensors comes from the op's ops.def signature (a handle is a plain number).
  std::vector<std::string> parts;
  Napi::Array shapes = Napi::Array::New(env);
  uint32_t ns = 0;
  const char* sig = SignatureOf(g_current_fn);
  TensorTable& table = TableOf(env);
  auto describe = [&](const Napi::Value& v, const std::string& name) {
    if (!v.IsNumber()) return;
    bool known = false;
    TensorSlot* slot = table.Find(v.As<Napi::Number>().DoubleValue(), &known);
    if (slot == nullptr) {
      if (!known) return;
      parts.push_back(name + ": disposed");
      shapes.Set(ns++, env.Null());
      return;
    }
    auto sizes = slot->t.sizes();
    auto arr = Napi::Array::New(env, sizes.size());
    for (size_t k = 0; k < sizes.size(); k++) arr.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(sizes[k])));
    shapes.Set(ns++, arr);
    parts.push_back(name + ": " + DtypeName(slot->t.scalar_type()) + " " + c10::str(sizes));
  };
  try {
    for (size_t i = 0; sig != nullptr && i < info.Length(); i++) {
      std::string type;
      std::string name = ParamName(sig, static_cast<int>(i), &type);
      if (name.empty()) name = "argument " + std::to_string(i);
      Napi::Value v = info[i];
      if (type == "H[]" && v.IsArray()) {
        auto a = v.As<Napi::Array>();
        uint32_t n = a.Length();
        for (uint32_t k = 0; k < n && k < 8; k++) describe(a.Get(k), name + "[" + std::to_string(k) + "]");
        if (n > 8) parts.push_back("...");
      } else if (IsTensorType(type)) {
        describe(v, name);
      }
    }
  } catch (const Napi::Error&) {
    // an array element getter threw: report what was collected
  }
  std::string full = std::string(op) + ": " + m;
  if (!parts.empty()) {
    full += " (";
    for (size_t k = 0; k < parts.size(); k++) full += (k ? ", " : "") + parts[k];
    full += ")";
  }
  auto* data = env.GetInstanceData<EnvData>();
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    try {
      Napi::Object e = data->errorClass.New({Napi::String::New(env, full), Napi::String::New(env, op), shapes});
      return Napi::Error(env, e);
    } catch (const Napi::Error&) {
      // the registered class threw: fall back to a plain Error with the same fields
    }
  }
  Napi::Error err = Napi::Error::New(env, full);
  err.Set("op", Napi::String::New(env, op));
  err.Set("shapes", shapes);
  err.Set("name", Napi::String::New(env, "TorchError"));
  return err;
}

// Raw N-API, status checked, nothing thrown: the environment may be terminating (worker.terminate(),
// process exit), when every call that would run JavaScript fails with napi_pending_exception /
// napi_cannot_run_js. node-addon-api's helpers throw a Napi::Error on such a failure, which escaped the
// callback wrapper and aborted the process.
void ThrowIntoJs(napi_env env, const char* op, const std::string& msg) noexcept {
  try {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
    std::string m = msg;
    auto cut = m.find("\nException raised from");
    if (cut != std::string::npos) m = m.substr(0, cut);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    std::string text = std::string(op) + ": " + m;
    napi_value jsMsg, err, jsOp, name;
    if (napi_create_string_utf8(env, text.data(), text.size(), &jsMsg) != napi_ok) return;
    if (napi_create_error(env, nullptr, jsMsg, &err) != napi_ok) return;
    if (napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &jsOp) == napi_ok) napi_set_named_property(env, err, "op", jsOp);
    if (napi_create_string_utf8(env, "TorchError", NAPI_AUTO_LENGTH, &name) == napi_ok)
      napi_set_named_property(env, err, "name", name);
    napi_throw(env, err);  // fails only when the environment cannot run JavaScript: then nobody is left to tell
  } catch (...) {
    // std::bad_alloc building the message: drop it rather than let it out of a noexcept function.
  }
}

void RethrowIntoJs(napi_env env, const Napi::Error& e) noexcept {
  try {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
    napi_value v = nullptr;
    if (!e.IsEmpty()) v = static_cast<napi_value>(e.Value());  // may throw when the env is going away
    if (v == nullptr) {
      ThrowIntoJs(env, "native", "an N-API call failed");
      return;
    }
    napi_throw(env, v);
  } catch (...) {
  }
}

void ThrowTorchError(const Napi::CallbackInfo& info, const char* op, const std::string& msg) noexcept {
  napi_env env = info.Env();
  try {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
    Napi::Error e = MakeTorchError(info, op, msg);
    napi_throw(env, e.Value());  // fails only when the environment cannot run JavaScript
  } catch (...) {
    // building the TorchError needs JavaScript (its constructor): without it, the raw error or nothing
    ThrowIntoJs(env, op, msg);
  }
}

// setErrorClass(ctor): the class MakeTorchError instantiates (new ctor(message, op, shapes)), so that
// every native error is a real TorchError in JavaScript. src/native/binding.ts calls it once at load.
FLM_FN(SetErrorClass) {
  FLM_OP("setErrorClass")
  if (!info[0].IsFunction()) ThrowArg(kOp, ArgPos(kOp, 0) + " must be a class");
  info.Env().GetInstanceData<EnvData>()->errorClass.Reset(info[0].As<Napi::Function>(), 1);
  return info.Env().Undefined();
  FLM_END
}

static int64_t BytesOf(const at::Tensor& t) {
  if (!t.defined()) return 0;
  return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}

// ---- the tensor table
static int64_t BytesOf(const at::Tensor& t);
// Tensors smaller than this are not reported to V8 (the call costs more than the pressure matters).
static constexpr int64_t kReportThreshold = 4096;

TensorTable::~TensorTable() = default;

napi_value TensorTable::Add(napi_env env, at::Tensor t, bool report) {
  if (closed_) throw std::runtime_error("the environment is shutting down");
  uint32_t i;
  // Reuse the oldest freed slot only once a few thousand are free: a handle's slot then comes back
  // (with a new generation) after thousands of other frees, never right after its own.
  if (free_.size() > kChunk || (!free_.empty() && size_ >= kSlots)) {
    i = free_.front();
    free_.pop_front();
  } else if (size_ < kSlots) {
    if (size_ % kChunk == 0) chunks_.emplace_back(new TensorSlot[kChunk]);
    i = size_++;
  } else {
    throw std::runtime_error("more than 4194304 live tensors: dispose tensors (tidy() frees a step's intermediates)");
  }
  TensorSlot& s = At(i);
  int64_t bytes = BytesOf(t);
  s.t = std::move(t);
  s.reported = 0;
  s.guards = 0;
  g_live_tensors++;
  g_live_bytes += bytes;
  // Only CPU memory counts against V8's heap pressure heuristics; tiny tensors are not worth the call.
  // Only memory this handle alone holds is reported: a view (view, permute, narrow, select ...), a
  // tensor sharing its storage with another (detach, outputs autograd saved) or a second handle to the
  // same tensor (alias) frees nothing when released. Counting them made every training step report its
  // activations several times over, and V8 answered each 64 MB of reported growth with a full
  // mark-compact (about 9 per FLM step at the small preset).
  bool sole = report && !s.t.is_view() && s.t.has_storage() && s.t.storage().use_count() == 1;
  if (bytes >= kReportThreshold && s.t.is_cpu() && sole) {
    int64_t ignored = 0;
    if (napi_adjust_external_memory(env, bytes, &ignored) == napi_ok) s.reported = bytes;
  }
  napi_value out = nullptr;
  if (napi_create_double(env, static_cast<double>(s.gen) * kSlots + i, &out) != napi_ok) {
    Free(env, s, i);
    throw std::runtime_error("cannot create a tensor handle");
  }
  return out;
}

TensorSlot* TensorTable::Find(double h, bool* known) {
  *known = false;
  // an exact integer in [2^22, 2^53): gen >= 1
  if (!(h >= kSlots && h < 9007199254740992.0) || std::floor(h) != h) return nullptr;
  uint64_t v = static_cast<uint64_t>(h);
  uint32_t i = static_cast<uint32_t>(v & (static_cast<uint64_t>(kSlots) - 1));
  uint64_t gen = v >> kSlotBits;
  if (i >= size_ || gen > kMaxGen) return nullptr;
  *known = true;
  TensorSlot& s = At(i);
  return s.gen == gen && s.t.defined() ? &s : nullptr;
}

void TensorTable::Free(node_api_basic_env env, TensorSlot& s, uint32_t i) {
  g_live_tensors--;
  g_live_bytes -= BytesOf(s.t);
  s.t = at::Tensor();  // at::Tensor's destructor does not throw
  if (s.reported) {
    int64_t ignored = 0;
    napi_adjust_external_memory(env, -s.reported, &ignored);
    s.reported = 0;
  }
  s.guards = 0;
  s.gen = s.gen == kMaxGen ? 1 : s.gen + 1;
  free_.push_back(i);
}

bool TensorTable::Release(node_api_basic_env env, double h) {
  bool known = false;
  TensorSlot* s = Find(h, &known);
  if (s == nullptr) return false;
  Free(env, *s, static_cast<uint32_t>(static_cast<uint64_t>(h) & (static_cast<uint64_t>(kSlots) - 1)));
  return true;
}

void TensorTable::ReleaseAll(node_api_basic_env env) {
  for (uint32_t i = 0; i < size_; i++) {
    TensorSlot& s = At(i);
    if (s.t.defined()) Free(env, s, i);
  }
  closed_ = true;
}

EnvData::~EnvData() {
  // The environment is torn down (process exit, worker.terminate()): its live tensors are freed here.
  if (table) table->ReleaseAll(env);
}

TensorTable& TableOf(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return *static_cast<EnvData*>(data)->table;
}

Napi::Value Wrap(Napi::Env env, at::Tensor t, bool report) {
  if (!t.defined()) return env.Null();
  return Napi::Value(env, TableOf(env).Add(env, std::move(t), report));
}

// ---- guards: the garbage collector's safety net for tensors outside every tidy scope
struct TensorGuard {
  std::shared_ptr<TensorTable> table;
  double handle;
};

// A basic (GC-safe) finalizer: with NAPI_EXPERIMENTAL it runs during GC, not in a later SetImmediate, so a
// long synchronous loop that forgets tensors does not pile them up until the event loop turns. It also
// runs when the environment is torn down (after or before EnvData's destructor: the table is shared).
// It uses raw calls and ignores their status: it must not throw.
static void FinalizeGuard(node_api_basic_env env, void* data, void* /*hint*/) {
  auto* g = static_cast<TensorGuard*>(data);
  bool known = false;
  TensorSlot* s = g->table->Find(g->handle, &known);
  if (s != nullptr && s->guards > 0 && --s->guards == 0) g->table->Release(env, g->handle);
  delete g;
}

// guard(h): an external that frees the tensor when the garbage collector collects it (and every other
// guard of h); the Tensor object holds it, so that a Tensor JS forgot frees its tensor. null when h is
// not a live tensor handle.
FLM_FN(Guard) {
  FLM_OP("guard")
  bool known = false;
  TensorSlot* s = info[0].IsNumber() ? TableOf(info.Env()).Find(info[0].As<Napi::Number>().DoubleValue(), &known) : nullptr;
  if (s == nullptr) return info.Env().Null();
  auto* data = info.Env().GetInstanceData<EnvData>();
  auto* g = new TensorGuard{data->table, info[0].As<Napi::Number>().DoubleValue()};
  napi_value ext = nullptr;
  if (napi_create_external(info.Env(), g, FinalizeGuard, nullptr, &ext) != napi_ok) {
    delete g;
    throw std::runtime_error("cannot create a tensor guard");
  }
  s->guards++;  // from here the finalizer owns g; nothing unwraps a guard, so it carries no type tag
  return Napi::Value(info.Env(), ext);
  FLM_END
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) arr.Set(static_cast<uint32_t>(i), Wrap(env, ts[i]));
  return arr;
}

bool HasTypeTag(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag) {
  bool ok = false;
  return v.IsExternal() && napi_check_object_type_tag(env, v, &tag, &ok) == napi_ok && ok;
}

// The name of parameter i in an ops.def signature "(a: H, dims: number[], keep: boolean): H", and its type.
static std::string ParamName(const char* sig, int i, std::string* type) {
  const char* p = sig;
  while (*p && *p != '(') p++;
  if (!*p) return "";
  int depth = 0, k = 0;
  bool inName = true;
  std::string name, ty;
  for (p++; *p; p++) {
    char c = *p;
    if (c == '\'') {  // a string literal type: 'cpu' | 'cuda'
      const char* q = p;
      for (p++; *p && *p != '\''; p++) {}
      if (!*p) break;
      if (k == i && !inName) ty.append(q, p + 1);
      continue;
    }
    if (depth == 0 && (c == ',' || c == ')')) {
      if (k == i) {
        if (type) {
          size_t a = ty.find_first_not_of(' '), b = ty.find_last_not_of(' ');
          *type = a == std::string::npos ? "" : ty.substr(a, b - a + 1);
        }
        return name;
      }
      if (c == ')') break;
      k++;
      name.clear();
      inName = true;
      continue;
    }
    if (c == '(' || c == '[' || c == '{' || c == '<') depth++;
    else if (c == ')' || c == ']' || c == '}' || c == '>') depth--;
    if (depth == 0 && (c == ':' || c == '?')) {
      inName = false;
      continue;
    }
    if (k != i) continue;
    if (inName && c != ' ') name += c;
    else if (!inName) ty += c;
  }
  return "";
}

// The ops.def signature of the C++ op function `fn` (nullptr when unknown).
static const char* SignatureOf(const char* fn) {
  static const std::unordered_map<std::string, const char*> kSignatures = {
#define FLM_OP_DEF(JS_NAME, CPP_FN, TS_SIGNATURE) {#CPP_FN, TS_SIGNATURE},
#include "ops.def"
#undef FLM_OP_DEF
  };
  if (!fn) return nullptr;
  auto it = kSignatures.find(fn);
  return it == kSignatures.end() ? nullptr : it->second;
}

// "argument 6 (groups)": the position, and the parameter's name from the running op's ops.def signature.
std::string ArgPos(const char* op, int i) {
  std::string s = "argument " + std::to_string(i);
  if (const char* sig = SignatureOf(g_current_fn)) {
    std::string name = ParamName(sig, i);
    if (!name.empty()) s += " (" + name + ")";
  }
  return s;
}

static std::string RangeText(IntRange r) {
  auto bound = [](int64_t b) {
    if (b == kMaxSafeInt) return std::string("2^53-1");
    if (b == -kMaxSafeInt) return std::string("-(2^53-1)");
    if (b == std::numeric_limits<int64_t>::max()) return std::string("2^63-1");
    if (b == std::numeric_limits<int64_t>::min()) return std::string("-2^63");
    return std::to_string(b);
  };
  return "[" + bound(r.lo) + ", " + bound(r.hi) + "]";
}

// A short description of a bad argument value for error messages (runs no user code).
static std::string Describe(const Napi::Value& v) {
  if (v.IsNumber()) {
    // an integer below 1e21 with all its digits (2**60 is 1152921504606846976), anything else as
    // JavaScript writes it (1e+300, 0.5, NaN): converting a Number to a string runs no user code
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 1e21) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f", d);
      return buf;
    }
    napi_value str;
    if (napi_coerce_to_string(v.Env(), v, &str) == napi_ok) return Napi::String(v.Env(), str).Utf8Value();
    return "a number";
  }
  if (v.IsBigInt()) {
    napi_value str;
    if (napi_coerce_to_string(v.Env(), v, &str) == napi_ok) return Napi::String(v.Env(), str).Utf8Value() + "n";
    return "a bigint";
  }
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsArray()) return "an array";
  return "an object";
}

int64_t CheckInt(const Napi::Value& v, const char* op, int i, IntRange r, const char* element) {
  auto fail = [&]() {
    ThrowArg(op, ArgPos(op, i) + (element ? std::string(element) : std::string()) + " must be an integer in " +
                     RangeText(r) + ", got " + Describe(v));
  };
  int64_t out = 0;
  if (v.IsBigInt()) {
    bool lossless = false;
    out = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) fail();
  } else if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    // NaN and +-Infinity fail the first test; beyond 2^53 a Number is no exact integer (and converting a
    // double beyond 2^63 to int64 is undefined behaviour).
    if (!(std::fabs(d) <= static_cast<double>(kMaxSafeInt)) || std::floor(d) != d) fail();
    out = static_cast<int64_t>(d);
  } else {
    fail();
  }
  if (out < r.lo || out > r.hi) fail();
  return out;
}

const at::Tensor& TensorOf(const char* op, const Napi::Value& v, int i) {
  // Only a number a tensor handle was made from is one: anything else (an external of a process group,
  // an object, a random number) is refused here.
  double h = 0;
  if (napi_get_value_double(v.Env(), v, &h) != napi_ok) ThrowArg(op, ArgPos(op, i) + " must be a tensor");
  bool known = false;
  TensorSlot* s = TableOf(v.Env()).Find(h, &known);
  if (s == nullptr) ThrowArg(op, ArgPos(op, i) + (known ? " (a tensor) was used after dispose()" : " must be a tensor"));
  return s->t;
}

const at::Tensor& T(const Napi::CallbackInfo& info, int i, const char* op) {
  return TensorOf(op, info[i], i);
}

c10::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, int i, const char* op) {
  if (static_cast<size_t>(i) >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return T(info, i, op);
}

std::vector<at::Tensor> TList(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsArray()) ThrowArg(op, ArgPos(op, i) + " must be an array of tensors");
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) out.push_back(TensorOf(op, arr.Get(k), i));
  return out;
}

int64_t ArgInt(const Napi::CallbackInfo& info, int i, const char* op, IntRange r) {
  return CheckInt(info[i], op, i, r);
}

double ArgDouble(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsNumber()) ThrowArg(op, ArgPos(op, i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

double ArgFinite(const Napi::CallbackInfo& info, int i, const char* op, double lo, double hi) {
  double d = ArgDouble(info, i, op);
  if (!std::isfinite(d) || d < lo || d > hi) {
    std::string range = std::isinf(lo) && std::isinf(hi) ? "a finite number"
                        : std::isinf(hi)                 ? "a finite number >= " + c10::str(lo)
                        : std::isinf(lo)                 ? "a finite number <= " + c10::str(hi)
                                                         : "a number in [" + c10::str(lo) + ", " + c10::str(hi) + "]";
    ThrowArg(op, ArgPos(op, i) + " must be " + range + ", got " + Describe(info[i]));
  }
  return d;
}

bool ArgBool(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsBoolean()) ThrowArg(op, ArgPos(op, i) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string ArgString(const Napi::CallbackInfo& info, int i, const char* op) {
  if (!info[i].IsString()) ThrowArg(op, ArgPos(op, i) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> ArgIntList(const Napi::CallbackInfo& info, int i, const char* op, IntRange r) {
  if (!info[i].IsArray()) ThrowArg(op, ArgPos(op, i) + " must be an array of integers");
  auto arr = info[i].As<Napi::Array>();
  uint32_t n = arr.Length();
  std::vector<int64_t> out(n);
  for (uint32_t k = 0; k < n; k++) {
    std::string el = "[" + std::to_string(k) + "]";
    out[k] = CheckInt(arr.Get(k), op, i, r, el.c_str());
  }
  return out;
}

std::vector<int64_t> ArgShape(const Napi::CallbackInfo& info, int i, const char* op, int64_t elementSize) {
  auto shape = ArgIntList(info, i, op, kCount);
  int64_t total = elementSize;
  for (auto d : shape)
    if (__builtin_mul_overflow(total, d, &total))
      ThrowArg(op, ArgPos(op, i) + " describes a tensor too large to address (" + c10::str(at::IntArrayRef(shape)) + ")");
  return shape;
}

c10::optional<int64_t> OptInt(const Napi::CallbackInfo& info, int i, const char* op, IntRange r) {
  if (static_cast<size_t>(i) >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return ArgInt(info, i, op, r);
}

c10::optional<double> OptDouble(const Napi::CallbackInfo& info, int i, const char* op) {
  if (static_cast<size_t>(i) >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return ArgDouble(info, i, op);
}

at::Scalar ArgScalar(const Napi::CallbackInfo& info, int i, const char* op) {
  auto v = info[i];
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) return at::Scalar(CheckInt(v, op, i, {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}));
  if (!v.IsNumber()) ThrowArg(op, ArgPos(op, i) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // Integral JS numbers become integer scalars so int tensors stay int (as in Python).
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0)
    return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

// Codes: 0 float32, 1 float64, 2 float16, 3 bfloat16, 4 int64, 5 int32, 6 uint8, 7 bool, 8 int8, 9 int16
at::ScalarType DtypeFromCode(int64_t code, const char* op) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kDouble;
    case 2: return at::kHalf;
    case 3: return at::kBFloat16;
    case 4: return at::kLong;
    case 5: return at::kInt;
    case 6: return at::kByte;
    case 7: return at::kBool;
    case 8: return at::kChar;
    case 9: return at::kShort;
  }
  ThrowArg(op, "unknown dtype code " + std::to_string(code));
}

int64_t CodeFromDtype(at::ScalarType st) {
  switch (st) {
    case at::kFloat: return 0;
    case at::kDouble: return 1;
    case at::kHalf: return 2;
    case at::kBFloat16: return 3;
    case at::kLong: return 4;
    case at::kInt: return 5;
    case at::kByte: return 6;
    case at::kBool: return 7;
    case at::kChar: return 8;
    case at::kShort: return 9;
    default: return -1;
  }
}

at::ScalarType ArgDtype(const Napi::CallbackInfo& info, int i, const char* op) {
  return DtypeFromCode(ArgInt(info, i, op), op);
}

c10::optional<at::ScalarType> OptDtype(const Napi::CallbackInfo& info, int i, const char* op) {
  auto c = OptInt(info, i, op);
  if (!c) return c10::nullopt;
  return DtypeFromCode(*c, op);
}

at::Device ArgDevice(const Napi::CallbackInfo& info, int i, const char* op) {
  if (static_cast<size_t>(i) >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return at::Device(at::kCPU);
  std::string s = ArgString(info, i, op);
  return at::Device(s);  // throws c10::Error for malformed strings ("cuda:x")
}

at::TensorOptions ArgOptions(const Napi::CallbackInfo& info, int dtypeIdx, int deviceIdx, const char* op) {
  at::TensorOptions o;
  auto dt = OptDtype(info, dtypeIdx, op);
  o = o.dtype(dt ? *dt : at::kFloat);
  o = o.device(ArgDevice(info, deviceIdx, op));
  return o;
}

at::Generator& DefaultGen() {
  static at::Generator g = at::detail::getDefaultCPUGenerator();
  return g;
}

}  // namespace flm
