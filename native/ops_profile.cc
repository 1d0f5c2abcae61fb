// Op profiling for `flm bench step --profile`: while on, every aten op libtorch runs on the profiling
// thread (forward, and the backward the autograd engine runs on it) adds its wall time to its name's
// entry, as self time (the op's own time, without the aten ops it called) and total time. It sees what
// the PyTorch profiler's key_averages() sees, through the same RecordFunction callbacks, so the two
// sides of a benchmark can be compared op by op.
// libtorch is built with NDEBUG; see ops_flops.cc for why this file must see RecordFunction as it does.
#ifndef NDEBUG
#define NDEBUG
#endif
#include <ATen/record_function.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core.h"

namespace flm {

namespace {

struct Entry {
  int64_t calls = 0;
  int64_t self_ns = 0;
  int64_t total_ns = 0;
};

struct Frame {
  int64_t start_ns;
  int64_t child_ns;
};

std::mutex g_mu;  // guards g_entries, g_handle, g_on
std::unordered_map<std::string, Entry> g_entries;
at::CallbackHandle g_handle = 0;
bool g_on = false;
std::thread::id g_thread;  // the thread that started profiling: its callback is thread-local
thread_local std::vector<Frame> t_stack;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The end callback needs the start time and the op's name; the stack gives the time, the context the name.
struct Context : at::ObserverContext {
  explicit Context(const char* n) : name(n) {}
  const char* name;
};

std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction& fn) {
  try {
    auto ctx = std::make_unique<Context>(fn.name());
    t_stack.push_back({NowNs(), 0});  // after the allocation: a frame is pushed only with a context to pop it
    return ctx;
  } catch (...) {
    return nullptr;
  }
}

void OnEnd(const at::RecordFunction&, at::ObserverContext* ctx) {
  try {
    if (ctx == nullptr || t_stack.empty()) return;
    Frame f = t_stack.back();
    t_stack.pop_back();
    int64_t total = NowNs() - f.start_ns;
    if (!t_stack.empty()) t_stack.back().child_ns += total;
    std::lock_guard<std::mutex> lock(g_mu);
    Entry& e = g_entries[static_cast<Context*>(ctx)->name];
    e.calls++;
    e.self_ns += total - f.child_ns;
    e.total_ns += total;
  } catch (...) {
    // out of memory for a map entry: the op goes uncounted
  }
}

}  // namespace

// opProfilerStart(): clears the table and starts timing every aten op (an error if already on).
FLM_FN(OpProfilerStart) {
  FLM_OP("opProfilerStart")
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_on) ThrowArg(kOp, "the op profiler is already on");
  g_entries.clear();
  t_stack.clear();
  g_handle = at::addThreadLocalCallback(at::RecordFunctionCallback(OnStart, OnEnd).scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  g_on = true;
  g_thread = std::this_thread::get_id();
  return info.Env().Undefined();
  FLM_END
}

// opProfilerStop(): stops timing; every op seen, with its calls and self / total milliseconds.
FLM_FN(OpProfilerStop) {
  FLM_OP("opProfilerStop")
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_on) ThrowArg(kOp, "the op profiler is not on");
  if (std::this_thread::get_id() != g_thread) ThrowArg(kOp, "the op profiler was started on another thread (worker): stop it there");
  at::removeCallback(g_handle);
  g_on = false;
  t_stack.clear();
  auto env = info.Env();
  auto out = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& kv : g_entries) {
    auto o = Napi::Object::New(env);
    o.Set("op", Napi::String::New(env, kv.first));
    o.Set("calls", Napi::Number::New(env, static_cast<double>(kv.second.calls)));
    o.Set("selfMs", Napi::Number::New(env, kv.second.self_ns / 1e6));
    o.Set("totalMs", Napi::Number::New(env, kv.second.total_ns / 1e6));
    out.Set(n++, o);
  }
  g_entries.clear();
  return out;
  FLM_END
}

}  // namespace flm
