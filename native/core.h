// The thin native layer between Node and libtorch (ATen + autograd).
//
// A tensor crosses into JavaScript as a number, its handle: a slot of the environment's tensor table
// (TensorTable, below) that owns one `at::Tensor` reference, and the slot's generation. JS frees it
// deterministically through `dispose` (tidy scopes); a tensor that lives outside every tidy scope also
// gets a guard (an external whose finalizer frees the handle when the garbage collector finds the guard
// unreachable, i.e. when JS forgot the tensor). Numbers instead of one external + finalizer per tensor:
// making, type-tagging and collecting the external was a third of a small op's time.
//
// Every exported function is listed once in ops.def, is defined with FLM_FN, and runs its body inside
// FLM_OP(name) { ... } FLM_END, which converts any c10::Error / std::exception into a JS
// TorchError "<op>: <libtorch message> (<tensor arguments' dtypes and shapes>)". No C++ exception
// ever reaches V8 or node-addon-api's callback wrapper (see FLM_END), finalizers throw nothing, and
// nothing here calls abort().
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <atomic>
#include <deque>
#include <memory>
#include <cmath>
#include <c10/util/Optional.h>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ops.h"

namespace flm {

// Every external this addon hands to JavaScript (tensor guards, process groups, reducers) carries a napi
// type tag naming what it points to; the unwrapping helpers (Unwrap in dist.h) check the tag before the
// cast, so a handle of another kind (another addon's) is an error, never a wrong cast.
bool HasTypeTag(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag);

// ---- the tensor table
// A handle is gen * 2^22 + slot: slot < 2^22 (about 4 million live tensors), gen in [1, 2^31) (an exact
// integer below 2^53). A slot's generation changes every time it is freed and freed slots are reused
// oldest first, so a stale handle (a copy kept past dispose) never reaches the tensor that reuses its
// slot: it is "used after dispose()", never another tensor. Everything runs on the environment's thread.
struct TensorSlot {
  at::Tensor t;
  int64_t reported = 0;  // bytes reported to V8 through AdjustExternalMemory
  uint32_t gen = 1;
  uint32_t guards = 0;   // live guards (the GC frees the tensor when the last one is collected)
};
class TensorTable {
 public:
  static constexpr int kSlotBits = 22;
  static constexpr double kSlots = 4194304.0;         // 2^22
  static constexpr uint32_t kMaxGen = 2147483647u;    // 2^31 - 1
  ~TensorTable();
  // A new handle owning t (t defined), as a JS number; throws when the table is full.
  // report: false for a second handle to a tensor JavaScript already holds (alias)
  napi_value Add(napi_env env, at::Tensor t, bool report = true);
  // The live slot of handle value h, or nullptr: *known is set when h is (or was) a handle of this
  // table, so that the caller can tell "used after dispose()" from "not a tensor".
  TensorSlot* Find(double h, bool* known);
  // Frees the slot's tensor (dispose, guard finalizer); false when h is not live.
  bool Release(node_api_basic_env env, double h);
  // Frees every live tensor (the environment is torn down).
  void ReleaseAll(node_api_basic_env env);
 private:
  static constexpr uint32_t kChunk = 4096;
  std::vector<std::unique_ptr<TensorSlot[]>> chunks_;  // chunks never move: references into them stay valid
  uint32_t size_ = 0;                                   // slots handed out so far
  std::deque<uint32_t> free_;                           // freed slots, oldest first
  bool closed_ = false;
  TensorSlot& At(uint32_t i) { return chunks_[i / kChunk][i % kChunk]; }
  void Free(node_api_basic_env env, TensorSlot& s, uint32_t i);
};
TensorTable& TableOf(napi_env env);

// What the addon keeps per environment (napi instance data): the error class and the tensor table
// (shared with guards, whose finalizers may run after the environment's data is gone).
struct EnvData {
  Napi::FunctionReference errorClass;
  std::shared_ptr<TensorTable> table = std::make_shared<TensorTable>();
  napi_env env = nullptr;
  ~EnvData();
};

// ---- live-object accounting (memory()) ----
extern std::atomic<int64_t> g_live_tensors;
extern std::atomic<int64_t> g_live_bytes;

// ---- errors ----
[[noreturn]] void ThrowArg(const char* op, const std::string& msg);
// The one place native errors are made: a TorchError (the class src/native/binding.ts registers with
// setErrorClass) whose message is "<op>: <msg> (<name>: <dtype> <shape>, ...)", naming every tensor
// argument the op was called with, and whose `op` and `shapes` (one entry per tensor argument) are set.
Napi::Error MakeTorchError(const Napi::CallbackInfo& info, const char* op, const std::string& msg);
// The fallback when no TorchError can be built: a plain Error "<op>: <msg>" named TorchError (or e
// rethrown) into JavaScript with raw N-API calls: never throws a C++ exception, checks every
// napi_status, and does nothing when the environment cannot run JavaScript (terminating worker,
// exiting process) or an exception is already pending.
void ThrowIntoJs(napi_env env, const char* op, const std::string& msg) noexcept;
void RethrowIntoJs(napi_env env, const Napi::Error& e) noexcept;
// Throw the TorchError of MakeTorchError into JavaScript without letting any C++ exception out: when
// the environment cannot run JavaScript (a terminating worker), the error is dropped.
void ThrowTorchError(const Napi::CallbackInfo& info, const char* op, const std::string& msg) noexcept;

// ---- wrapping ----
// undefined tensor -> null; report: false for a second handle to a tensor JavaScript already holds
Napi::Value Wrap(Napi::Env env, at::Tensor t, bool report = true);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
// The tensor of a handle argument: "must be a tensor" for anything else, "(a tensor) was used after
// dispose()" for a handle that was freed.
const at::Tensor& TensorOf(const char* op, const Napi::Value& v, int argIndex);
const at::Tensor& T(const Napi::CallbackInfo& info, int i, const char* op);
c10::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, int i, const char* op);
std::vector<at::Tensor> TList(const Napi::CallbackInfo& info, int i, const char* op);

// ---- argument readers (validate before touching libtorch) ----
// Integer arguments: every integer that crosses the bridge goes through CheckInt, which takes a finite,
// integral Number (exact: |v| <= 2^53 - 1) or a lossless BigInt and checks it against the range its
// libtorch target can hold before the call (libtorch narrows some int64 parameters to int: conv groups
// 2^32 became 0 and divided by zero). The error names the op and the argument ("argument 6 (groups)").
struct IntRange {
  int64_t lo;
  int64_t hi;
};
inline constexpr int64_t kMaxSafeInt = 9007199254740991;  // 2^53 - 1
inline constexpr IntRange kAnyInt{-kMaxSafeInt, kMaxSafeInt};  // int64 targets: dims, offsets, indices
inline constexpr IntRange kCount{0, kMaxSafeInt};              // sizes, lengths, counts
inline constexpr IntRange kPositive{1, kMaxSafeInt};
inline constexpr IntRange kPositiveInt32{1, std::numeric_limits<int32_t>::max()};  // groups, threads
inline constexpr IntRange kCountInt32{0, std::numeric_limits<int32_t>::max()};
inline constexpr IntRange kSeed{0, std::numeric_limits<int64_t>::max()};
int64_t CheckInt(const Napi::Value& v, const char* op, int i, IntRange r, const char* element = nullptr);
std::string ArgPos(const char* op, int i);  // "argument 6 (groups)", the name from ops.def

int64_t ArgInt(const Napi::CallbackInfo& info, int i, const char* op, IntRange r = kAnyInt);
double ArgDouble(const Napi::CallbackInfo& info, int i, const char* op);
bool ArgBool(const Napi::CallbackInfo& info, int i, const char* op);
std::string ArgString(const Napi::CallbackInfo& info, int i, const char* op);
std::vector<int64_t> ArgIntList(const Napi::CallbackInfo& info, int i, const char* op, IntRange r = kAnyInt);
// A shape for a new tensor: sizes >= 0 whose product (times elementSize) fits in int64.
std::vector<int64_t> ArgShape(const Napi::CallbackInfo& info, int i, const char* op, int64_t elementSize = 1);
c10::optional<int64_t> OptInt(const Napi::CallbackInfo& info, int i, const char* op, IntRange r = kAnyInt);
// Distribution parameters: finite, and in [lo, hi].
double ArgFinite(const Napi::CallbackInfo& info, int i, const char* op, double lo = -INFINITY, double hi = INFINITY);
c10::optional<double> OptDouble(const Napi::CallbackInfo& info, int i, const char* op);
at::Scalar ArgScalar(const Napi::CallbackInfo& info, int i, const char* op);
at::ScalarType ArgDtype(const Napi::CallbackInfo& info, int i, const char* op);
c10::optional<at::ScalarType> OptDtype(const Napi::CallbackInfo& info, int i, const char* op);
at::Device ArgDevice(const Napi::CallbackInfo& info, int i, const char* op);
at::TensorOptions ArgOptions(const Napi::CallbackInfo& info, int dtypeIdx, int deviceIdx, const char* op);

// Dtype codes shared with src/tensor/dtype.ts.
at::ScalarType DtypeFromCode(int64_t code, const char* op);
int64_t CodeFromDtype(at::ScalarType st);

// The default generator (manualSeed and state save/restore live in core.cc).
at::Generator& DefaultGen();

}  // namespace flm

namespace flm {
// The C++ name of the op running on this thread (FLM_OP sets it), so that argument errors can name the
// argument from the op's ops.def signature.
extern thread_local const char* g_current_fn;
}  // namespace flm

#define FLM_OP(NAME)              \
  {                               \
    static constexpr const char* kOp = NAME; \
    ::flm::g_current_fn = __func__; \
    try {
// No exception, C++ or N-API, leaves an op: node-addon-api would rethrow a Napi::Error through
// ThrowAsJavaScriptException, and when the environment is shutting down (worker.terminate(), process
// exit) napi_throw fails and node-addon-api throws again from inside its catch handler, out of the
// N-API callback: std::terminate aborted the whole process. So every exception is caught here and
// handed to ThrowIntoJs, which uses raw N-API calls, checks each status and throws nothing: when the
// environment can no longer run JavaScript the error is dropped (nobody is left to see it) and the op
// returns an empty value.
#define FLM_END                                                        \
    } catch (const Napi::Error& e) {                                   \
      ::flm::RethrowIntoJs(info.Env(), e);                             \
      return Napi::Value();                                            \
    } catch (const c10::Error& e) {                                    \
      ::flm::ThrowTorchError(info, kOp, e.what_without_backtrace());  \
      return Napi::Value();                                            \
    } catch (const std::exception& e) {                                \
      ::flm::ThrowTorchError(info, kOp, e.what());                     \
      return Napi::Value();                                            \
    } catch (...) {                                                    \
      ::flm::ThrowTorchError(info, kOp, "unknown native exception"); \
      return Napi::Value();                                            \
    }                                                                  \
  }

// Defines the op flm::op::FNAME (used inside namespace flm). The qualified name only compiles when
// ops.def declares the op, so an op cannot be defined without being exported.
#define FLM_FN(FNAME) Napi::Value op::FNAME(const Napi::CallbackInfo& info)
