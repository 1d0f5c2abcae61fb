// Distributed data parallelism on libtorch's own c10d: TCPStore rendezvous, ProcessGroupGloo (CPU) or
// ProcessGroupNCCL (CUDA builds), collectives with timeouts, and a gradient Reducer in the spirit of
// torch.nn.parallel.DistributedDataParallel's: autograd post-hooks on the parameters' gradient
// accumulators copy each gradient into a flat bucket as soon as backward produces it, and a bucket
// whose gradients are all there is all-reduced asynchronously (Gloo/NCCL threads) while backward goes
// on computing the next ones. finalize() waits for every bucket and writes the averaged gradients back.
//
// Failures never abort the process: every c10d/Gloo error or timeout becomes a JS Error naming the
// collective and the rank, and marks the group broken so that later calls fail at once instead of
// hanging. A broken group is deliberately leaked on destroy (its worker threads may still be blocked
// in a transport call until Gloo's own timeout; joining them would stall the exit).
#include "core.h"

#if __has_include(<gloo/config.h>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#define FLM_HAS_GLOO 1
#endif

#if defined(FLM_WITH_CUDA) && __has_include(<nccl.h>)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#define FLM_HAS_NCCL 1
#endif

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef FLM_HAS_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef FLM_HAS_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_set>

namespace flm {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

static std::string Msg(const std::exception& e) {
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
  return e.what();
}

static std::string FirstLine(std::string m) {
  auto cut = m.find("\nException raised from");
  if (cut != std::string::npos) m = m.substr(0, cut);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// ------------------------------------------------------------------ the process group
struct GroupState {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  int rank = 0;
  int size = 1;
  std::string backend;
  milliseconds timeout{30000};
  std::mutex mu;
  bool broken = false;
  std::string why;

  ~GroupState() {
    if (broken) {
      // Leak on purpose: ~ProcessGroupGloo joins worker threads that may sit in a dead peer's recv.
      (void)pg.release();
    }
  }
  void Fail(const std::string& m) {
    std::lock_guard<std::mutex> l(mu);
    if (!broken) why = m;
    broken = true;
  }
  void Check() {
    std::lock_guard<std::mutex> l(mu);
    if (broken) throw std::runtime_error("the process group is unusable after an earlier failure: " + why);
    if (!pg) throw std::runtime_error("the process group was destroyed");
  }
  std::string Where() const { return "rank " + std::to_string(rank) + " of " + std::to_string(size); }
};

struct GroupHandle {
  std::shared_ptr<GroupState> s;
};

static const napi_type_tag kGroupTag = {0x8f1c2a7d3b4e5f60ULL, 0x1d2e3f405a6b7c01ULL};
static const napi_type_tag kReducerTag = {0x8f1c2a7d3b4e5f60ULL, 0x1d2e3f405a6b7c02ULL};

template <class T>
static T* Unwrap(const Napi::CallbackInfo& info, int i, const napi_type_tag& tag, const char* what) {
  Napi::Value v = info[i];
  bool ok = false;
  if (!v.IsExternal() || napi_check_object_type_tag(info.Env(), v, &tag, &ok) != napi_ok || !ok)
    ThrowArg(what, std::string("argument ") + std::to_string(i) + " must be a " + what + " handle");
  return v.As<Napi::External<T>>().Data();
}

static std::shared_ptr<GroupState> GroupArg(const Napi::CallbackInfo& info, int i) {
  auto* h = Unwrap<GroupHandle>(info, i, kGroupTag, "process group");
  if (!h->s) throw std::runtime_error("the process group was destroyed");
  return h->s;
}

static milliseconds TimeoutArg(const Napi::CallbackInfo& info, int i, const GroupState& g) {
  auto t = OptInt(info, i, "timeout");
  if (!t) return g.timeout;
  if (*t <= 0) ThrowArg("timeout", "timeout must be a positive number of milliseconds");
  return milliseconds(*t);
}

// Waits for one piece of work; any error or timeout marks the group broken and is rethrown with context.
static void WaitWork(GroupState& g, const c10::intrusive_ptr<c10d::Work>& w, milliseconds t, const std::string& what) {
  try {
    w->wait(t);
  } catch (const std::exception& e) {
    std::string m = FirstLine(Msg(e));
    std::string full = what + " failed on " + g.Where() + ": " + m;
    std::string low = m;
    for (auto& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (low.find("timed out") != std::string::npos || low.find("timeout") != std::string::npos)
      full += " (no answer within " + std::to_string(t.count()) + " ms: another rank has stopped, died or diverged)";
    else if (low.find("closed") != std::string::npos || low.find("reset") != std::string::npos ||
             low.find("broken pipe") != std::string::npos)
      full += " (a peer process went away: another rank has died)";
    g.Fail(full);
    throw std::runtime_error(full);
  }
}

template <class F>
static c10::intrusive_ptr<c10d::Work> Launch(GroupState& g, const std::string& what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    std::string full = what + " failed on " + g.Where() + ": " + FirstLine(Msg(e));
    g.Fail(full);
    throw std::runtime_error(full);
  }
}

static std::vector<std::string> StrList(const Napi::CallbackInfo& info, int i, const char* op) {
  std::vector<std::string> out;
  if (static_cast<size_t>(i) >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return out;
  if (!info[i].IsArray()) ThrowArg(op, "argument " + std::to_string(i) + " must be an array of strings");
  auto a = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsString()) ThrowArg(op, "argument " + std::to_string(i) + " must be an array of strings");
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

// distAvailable() -> { gloo, nccl }
FLM_FN(DistAvailable) {
  FLM_OP("distAvailable")
  auto o = Napi::Object::New(info.Env());
#ifdef FLM_HAS_GLOO
  o.Set("gloo", true);
#else
  o.Set("gloo", false);
#endif
#ifdef FLM_HAS_NCCL
  o.Set("nccl", true);
#else
  o.Set("nccl", false);
#endif
  return o;
  FLM_END
}

static std::atomic<int> g_group_counter{0};

// distInitGroup(backend, rank, size, masterAddr, masterPort, timeoutMs, ifnames[], hostname, threads) -> group
// Rank 0 hosts the TCPStore (and waits for every rank to join, bounded by the timeout); every rank
// then builds the process group over a per-group PrefixStore.
FLM_FN(DistInitGroup) {
  FLM_OP("distInitGroup")
  std::string backend = ArgString(info, 0, kOp);
  int64_t rank = ArgInt(info, 1, kOp);
  int64_t size = ArgInt(info, 2, kOp);
  std::string addr = ArgString(info, 3, kOp);
  int64_t port = ArgInt(info, 4, kOp);
  int64_t tmo = ArgInt(info, 5, kOp);
  auto ifnames = StrList(info, 6, kOp);
  std::string hostname = info.Length() > 7 && info[7].IsString() ? ArgString(info, 7, kOp) : "";
  int64_t threads = info.Length() > 8 && info[8].IsNumber() ? ArgInt(info, 8, kOp) : 0;
  if (size < 1) ThrowArg(kOp, "worldSize must be >= 1");
  if (rank < 0 || rank >= size) ThrowArg(kOp, "rank must be in [0, worldSize)");
  if (port < 1 || port > 65535) ThrowArg(kOp, "masterPort must be in [1, 65535]");
  if (tmo <= 0) ThrowArg(kOp, "timeoutMs must be positive");

  auto s = std::make_shared<GroupState>();
  s->rank = static_cast<int>(rank);
  s->size = static_cast<int>(size);
  s->backend = backend;
  s->timeout = milliseconds(tmo);

  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = static_cast<size_t>(size);
  so.waitWorkers = true;
  so.timeout = s->timeout;
  try {
    s->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
  } catch (const std::exception& e) {
    throw std::runtime_error("rendezvous at " + addr + ":" + std::to_string(port) + " failed on rank " +
                             std::to_string(rank) + " of " + std::to_string(size) + " (timeout " + std::to_string(tmo) +
                             " ms): " + FirstLine(Msg(e)));
  }
  // Every process creates its groups in the same order, so the counter names the same group everywhere.
  std::string prefix = "flm_pg_" + std::to_string(g_group_counter++);
  auto pstore = c10::make_intrusive<c10d::PrefixStore>(prefix, s->store);

  try {
    if (backend == "gloo") {
#ifdef FLM_HAS_GLOO
      auto o = c10d::ProcessGroupGloo::Options::create(s->timeout);
      if (!ifnames.empty()) {
        for (const auto& n : ifnames) o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(n));
      } else if (!hostname.empty()) {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
      } else {
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      o->threads = threads > 0 ? static_cast<int>(threads) : static_cast<int>(o->devices.size() * 2);
      s->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(pstore, s->rank, s->size, o);
#else
      throw std::runtime_error(
          "this flm addon was built without Gloo headers (install libgloo-dev, then rebuild with `npm run build:native`)");
#endif
    } else if (backend == "nccl") {
#ifdef FLM_HAS_NCCL
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = s->timeout;
      s->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(pstore, s->rank, s->size, o);
#else
      throw std::runtime_error("NCCL is not available: this flm addon was built against a CPU-only libtorch");
#endif
    } else {
      ThrowArg(kOp, "unknown backend '" + backend + "' (expected 'gloo' or 'nccl')");
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    std::string m = FirstLine(Msg(e));
    std::string low = m;
    for (auto& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (low.find("timeout") != std::string::npos || low.find("timed out") != std::string::npos)
      m += " (not every rank joined within " + std::to_string(tmo) + " ms: check that all " + std::to_string(size) +
           " processes were started with the same MASTER_ADDR/MASTER_PORT, and GLOO_SOCKET_IFNAME on multi-homed hosts)";
    throw std::runtime_error("creating the " + backend + " process group failed on rank " + std::to_string(rank) + " of " +
                             std::to_string(size) + ": " + m);
  }

  auto* h = new GroupHandle{s};
  auto ext = Napi::External<GroupHandle>::New(info.Env(), h, [](Napi::Env, GroupHandle* p) { delete p; });
  napi_type_tag_object(info.Env(), ext, &kGroupTag);
  return ext;
  FLM_END
}

// distGroupInfo(group) -> { rank, size, backend, broken, why }
FLM_FN(DistGroupInfo) {
  FLM_OP("distGroupInfo")
  auto* h = Unwrap<GroupHandle>(info, 0, kGroupTag, "process group");
  auto o = Napi::Object::New(info.Env());
  if (!h->s) {
    o.Set("destroyed", true);
    return o;
  }
  auto& s = *h->s;
  std::lock_guard<std::mutex> l(s.mu);
  o.Set("rank", s.rank);
  o.Set("size", s.size);
  o.Set("backend", s.backend);
  o.Set("timeoutMs", static_cast<double>(s.timeout.count()));
  o.Set("broken", s.broken);
  o.Set("why", s.why);
  o.Set("destroyed", !s.pg);
  return o;
  FLM_END
}

// distDestroy(group): releases the group (a broken one is leaked, see the top of the file).
FLM_FN(DistDestroy) {
  FLM_OP("distDestroy")
  auto* h = Unwrap<GroupHandle>(info, 0, kGroupTag, "process group");
  if (h->s) {
    auto s = h->s;
    h->s.reset();
    bool broken;
    {
      std::lock_guard<std::mutex> l(s->mu);
      broken = s->broken;
    }
    if (broken) {
      (void)s->pg.release();
    } else {
      s->pg.reset();
    }
    s->store.reset();
  }
  return info.Env().Undefined();
  FLM_END
}

// Groups tensors by (dtype, device) keeping first-seen order; each group is reduced as one flat buffer.
struct Flat {
  at::Tensor flat;
  std::vector<size_t> members;
  bool direct = false;  // the single member is itself contiguous: used in place
};

static std::vector<Flat> Coalesce(const std::vector<at::Tensor>& ts) {
  std::vector<Flat> out;
  std::map<std::pair<int, std::string>, size_t> byKey;
  for (size_t i = 0; i < ts.size(); i++) {
    auto key = std::make_pair(static_cast<int>(ts[i].scalar_type()), ts[i].device().str());
    auto it = byKey.find(key);
    if (it == byKey.end()) {
      byKey[key] = out.size();
      out.push_back(Flat{});
      out.back().members.push_back(i);
    } else {
      out[it->second].members.push_back(i);
    }
  }
  at::NoGradGuard ng;
  for (auto& f : out) {
    if (f.members.size() == 1 && ts[f.members[0]].is_contiguous()) {
      f.flat = ts[f.members[0]].detach();
      f.direct = true;
    } else {
      std::vector<at::Tensor> parts;
      for (auto m : f.members) parts.push_back(ts[m].detach().reshape({-1}));
      f.flat = at::cat(parts);
    }
  }
  return out;
}

static void ScatterBack(const std::vector<at::Tensor>& ts, const std::vector<Flat>& flats) {
  at::NoGradGuard ng;
  for (const auto& f : flats) {
    if (f.direct) continue;
    int64_t off = 0;
    for (auto m : f.members) {
      int64_t n = ts[m].numel();
      ts[m].detach().copy_(f.flat.narrow(0, off, n).view(ts[m].sizes()));
      off += n;
    }
  }
}

static c10d::ReduceOp ReduceOpOf(const std::string& op) {
  if (op == "sum" || op == "avg") return c10d::ReduceOp::SUM;
  if (op == "max") return c10d::ReduceOp::MAX;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  throw std::invalid_argument("unknown reduce op '" + op + "' (expected sum, avg, max, min or product)");
}

// distAllReduce(group, tensors[], op, timeoutMs?) : in place on every tensor
FLM_FN(DistAllReduce) {
  FLM_OP("distAllReduce")
  auto g = GroupArg(info, 0);
  auto ts = TList(info, 1, kOp);
  std::string op = ArgString(info, 2, kOp);
  auto red = ReduceOpOf(op);
  auto t = TimeoutArg(info, 3, *g);
  if (op == "avg")
    for (auto& x : ts)
      if (!at::isFloatingType(x.scalar_type())) ThrowArg(kOp, "op 'avg' needs floating point tensors");
  g->Check();
  auto flats = Coalesce(ts);
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& f : flats) {
    std::vector<at::Tensor> v{f.flat};
    c10d::AllreduceOptions o;
    o.reduceOp = red;
    o.timeout = t;
    works.push_back(Launch(*g, "allReduce", [&] { return g->pg->allreduce(v, o); }));
  }
  for (auto& w : works) WaitWork(*g, w, t, "allReduce");
  if (op == "avg" && g->size > 1) {
    at::NoGradGuard ng;
    for (auto& f : flats) f.flat.div_(g->size);
  }
  ScatterBack(ts, flats);
  return info.Env().Undefined();
  FLM_END
}

// distBroadcast(group, tensors[], root, timeoutMs?) : in place, from root's values
FLM_FN(DistBroadcast) {
  FLM_OP("distBroadcast")
  auto g = GroupArg(info, 0);
  auto ts = TList(info, 1, kOp);
  int64_t root = ArgInt(info, 2, kOp);
  auto t = TimeoutArg(info, 3, *g);
  if (root < 0 || root >= g->size) ThrowArg(kOp, "root must be in [0, worldSize)");
  g->Check();
  auto flats = Coalesce(ts);
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& f : flats) {
    std::vector<at::Tensor> v{f.flat};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.rootTensor = 0;
    o.timeout = t;
    works.push_back(Launch(*g, "broadcast", [&] { return g->pg->broadcast(v, o); }));
  }
  for (auto& w : works) WaitWork(*g, w, t, "broadcast");
  if (g->rank != root) ScatterBack(ts, flats);
  return info.Env().Undefined();
  FLM_END
}

// distAllGather(group, tensor, timeoutMs?) -> tensors[] (one per rank; every rank's tensor must have the same shape)
FLM_FN(DistAllGather) {
  FLM_OP("distAllGather")
  auto g = GroupArg(info, 0);
  at::Tensor x = T(info, 1, kOp).detach().contiguous();
  auto t = TimeoutArg(info, 2, *g);
  g->Check();
  std::vector<std::vector<at::Tensor>> outs(1);
  for (int r = 0; r < g->size; r++) outs[0].push_back(at::empty_like(x));
  std::vector<at::Tensor> in{x};
  c10d::AllgatherOptions o;
  o.timeout = t;
  auto w = Launch(*g, "allGather", [&] { return g->pg->allgather(outs, in, o); });
  WaitWork(*g, w, t, "allGather");
  return WrapList(info.Env(), outs[0]);
  FLM_END
}

// distBarrier(group, timeoutMs?, monitored?) : monitored (Gloo) names the ranks that did not arrive
FLM_FN(DistBarrier) {
  FLM_OP("distBarrier")
  auto g = GroupArg(info, 0);
  auto t = TimeoutArg(info, 1, *g);
  bool monitored = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  g->Check();
  c10d::BarrierOptions o;
  o.timeout = t;
  if (monitored && g->backend == "gloo") {
    try {
      g->pg->monitoredBarrier(o, true);
    } catch (const std::exception& e) {
      std::string full = "barrier failed on " + g->Where() + ": " + FirstLine(Msg(e));
      g->Fail(full);
      throw std::runtime_error(full);
    }
  } else {
    auto w = Launch(*g, "barrier", [&] { return g->pg->barrier(o); });
    WaitWork(*g, w, t, "barrier");
  }
  return info.Env().Undefined();
  FLM_END
}

// distStoreSet(group, key, value) / distStoreGet(group, key) -> string / distStoreAdd(group, key, n) -> number
FLM_FN(DistStoreSet) {
  FLM_OP("distStoreSet")
  auto g = GroupArg(info, 0);
  std::string k = ArgString(info, 1, kOp), v = ArgString(info, 2, kOp);
  if (!g->store) throw std::runtime_error("the process group was destroyed");
  g->store->set("flm_user/" + k, std::vector<uint8_t>(v.begin(), v.end()));
  return info.Env().Undefined();
  FLM_END
}

FLM_FN(DistStoreGet) {
  FLM_OP("distStoreGet")
  auto g = GroupArg(info, 0);
  std::string k = ArgString(info, 1, kOp);
  if (!g->store) throw std::runtime_error("the process group was destroyed");
  auto v = g->store->get("flm_user/" + k);
  return Napi::String::New(info.Env(), std::string(v.begin(), v.end()));
  FLM_END
}

FLM_FN(DistStoreAdd) {
  FLM_OP("distStoreAdd")
  auto g = GroupArg(info, 0);
  std::string k = ArgString(info, 1, kOp);
  int64_t n = ArgInt(info, 2, kOp);
  if (!g->store) throw std::runtime_error("the process group was destroyed");
  return Napi::Number::New(info.Env(), static_cast<double>(g->store->add("flm_user/" + k, n)));
  FLM_END
}

// ------------------------------------------------------------------ the gradient reducer
struct ReducerState : std::enable_shared_from_this<ReducerState> {
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> params;
    std::vector<int64_t> offsets;
    size_t pending = 0;
    bool launched = false;
    bool inBackward = false;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::shared_ptr<GroupState> g;
  std::vector<at::Tensor> params;
  std::vector<std::shared_ptr<torch::autograd::Node>> accs;
  std::vector<uintptr_t> hookKeys;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucketOf;
  std::vector<int64_t> offsetOf;
  std::vector<uint8_t> ready;
  at::Tensor used;  // int32 [P] on the parameters' first device (findUnused)
  c10::intrusive_ptr<c10d::Work> usedWork;
  bool findUnused = false;
  milliseconds timeout{30000};
  size_t next = 0;
  bool armed = false;
  bool released = false;
  int64_t launchedInBackward = 0;
  std::recursive_mutex mu;

  void CopyIn(size_t i) {
    at::NoGradGuard ng;
    auto& b = buckets[bucketOf[i]];
    const at::Tensor& p = params[i];
    auto view = b.flat.narrow(0, offsetOf[i], p.numel());
    const at::Tensor& grad = p.grad();
    if (grad.defined()) {
      if (grad.is_sparse()) throw std::runtime_error("sparse gradients are not supported by the reducer");
      view.copy_(grad.reshape({-1}));
    } else {
      view.zero_();
    }
  }

  void LaunchBucket(size_t k, bool inBackward) {
    auto& b = buckets[k];
    at::NoGradGuard ng;
    if (g->size > 1) b.flat.mul_(1.0 / static_cast<double>(g->size));
    std::vector<at::Tensor> v{b.flat};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = timeout;
    g->Check();
    b.work = Launch(*g, "gradient allreduce (bucket " + std::to_string(k) + ")", [&] { return g->pg->allreduce(v, o); });
    b.launched = true;
    b.inBackward = inBackward;
    if (inBackward) launchedInBackward++;
  }

  // Buckets are launched strictly in index order on every rank, so all ranks issue the same
  // collectives in the same order whatever order backward produces the gradients in.
  void LaunchReady(bool inBackward) {
    while (next < buckets.size() && buckets[next].pending == 0 && !buckets[next].launched) LaunchBucket(next++, inBackward);
  }

  // torch's find_unused_parameters: walks the autograd graph from the loss; a parameter whose gradient
  // accumulator is not reachable gets no gradient this step, so it is marked ready now (its bucket can
  // then be launched during backward instead of waiting for finalize).
  void MarkUnreachable(const at::Tensor& loss) {
    std::unordered_set<const torch::autograd::Node*> seen;
    std::vector<torch::autograd::Node*> stack;
    if (auto fn = loss.grad_fn()) stack.push_back(fn.get());
    if (loss.is_leaf() && loss.requires_grad()) {
      if (auto acc = torch::autograd::impl::try_get_grad_accumulator(loss)) stack.push_back(acc.get());
    }
    while (!stack.empty()) {
      auto* n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second) continue;
      for (const auto& e : n->next_edges())
        if (e.function && !seen.count(e.function.get())) stack.push_back(e.function.get());
    }
    for (size_t i = 0; i < params.size(); i++) {
      if (seen.count(accs[i].get()) || ready[i]) continue;
      ready[i] = 1;
      // a gradient accumulated by earlier noSync passes still counts as this rank's contribution
      if (params[i].grad().defined()) used[static_cast<int64_t>(i)].fill_(1);
      CopyIn(i);
      buckets[bucketOf[i]].pending--;
    }
    LaunchReady(false);
  }

  void MarkReady(size_t i) {
    std::lock_guard<std::recursive_mutex> l(mu);
    if (!armed || released) return;
    if (ready[i])
      throw std::runtime_error("DistributedDataParallel: parameter " + std::to_string(i) +
                               " received its gradient twice in one step (call prepare() before each backward, "
                               "or use noSync() for gradient accumulation)");
    ready[i] = 1;
    if (findUnused) used[static_cast<int64_t>(i)].fill_(1);
    CopyIn(i);
    auto& b = buckets[bucketOf[i]];
    if (--b.pending == 0) LaunchReady(true);
  }
};

struct ReadyHook : torch::autograd::FunctionPostHook {
  std::weak_ptr<ReducerState> r;
  size_t index;
  ReadyHook(std::weak_ptr<ReducerState> r_, size_t i) : r(std::move(r_)), index(i) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    if (auto s = r.lock()) s->MarkReady(index);
    return outputs;
  }
};

struct ReducerHandle {
  std::shared_ptr<ReducerState> s;
};

static void ReleaseReducer(ReducerState& r) {
  std::lock_guard<std::recursive_mutex> l(r.mu);
  if (r.released) return;
  r.released = true;
  r.armed = false;
  for (size_t i = 0; i < r.accs.size(); i++) {
    if (r.accs[i]) r.accs[i]->del_post_hook(r.hookKeys[i]);
  }
  r.accs.clear();
  r.hookKeys.clear();
}

static std::shared_ptr<ReducerState> ReducerArg(const Napi::CallbackInfo& info, int i) {
  auto* h = Unwrap<ReducerHandle>(info, i, kReducerTag, "reducer");
  if (!h->s || h->s->released) throw std::runtime_error("the reducer was released");
  return h->s;
}

// distReducerNew(group, params[], firstBucketBytes, bucketBytes, findUnused, timeoutMs?) -> reducer
// Buckets: parameters in reverse order (backward produces the last layers' gradients first), split by
// dtype and device, each bucket closed when adding the next parameter would pass its byte cap (the
// first bucket of each kind uses firstBucketBytes so communication starts early, as in torch).
FLM_FN(DistReducerNew) {
  FLM_OP("distReducerNew")
  auto g = GroupArg(info, 0);
  auto ps = TList(info, 1, kOp);
  int64_t firstCap = ArgInt(info, 2, kOp);
  int64_t cap = ArgInt(info, 3, kOp);
  bool findUnused = ArgBool(info, 4, kOp);
  auto t = TimeoutArg(info, 5, *g);
  if (ps.empty()) ThrowArg(kOp, "no parameters to reduce");
  if (cap <= 0 || firstCap <= 0) ThrowArg(kOp, "bucket sizes must be positive");
  g->Check();
  auto r = std::make_shared<ReducerState>();
  r->g = g;
  r->params = ps;
  r->findUnused = findUnused;
  r->timeout = t;
  size_t P = ps.size();
  r->bucketOf.assign(P, 0);
  r->offsetOf.assign(P, 0);
  r->ready.assign(P, 0);
  for (size_t i = 0; i < P; i++) {
    if (!ps[i].requires_grad() || !ps[i].is_leaf())
      ThrowArg(kOp, "parameter " + std::to_string(i) + " is not a leaf tensor that requires grad");
    if (!at::isFloatingType(ps[i].scalar_type())) ThrowArg(kOp, "parameter " + std::to_string(i) + " is not floating point");
    for (size_t j = 0; j < i; j++)
      if (ps[j].is_same(ps[i])) ThrowArg(kOp, "parameter " + std::to_string(i) + " is listed twice");
  }
  // assign buckets
  std::map<std::pair<int, std::string>, std::pair<size_t, int64_t>> open;  // key -> (bucket, bytes)
  std::map<std::pair<int, std::string>, bool> hadOne;
  std::vector<std::pair<at::ScalarType, at::Device>> kinds;
  for (size_t k = P; k-- > 0;) {
    const auto& p = ps[k];
    auto key = std::make_pair(static_cast<int>(p.scalar_type()), p.device().str());
    int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    auto it = open.find(key);
    int64_t limit = hadOne[key] ? cap : firstCap;
    if (it != open.end() && it->second.second > 0 && it->second.second + bytes > limit) {
      open.erase(it);
      hadOne[key] = true;
      it = open.end();
    }
    if (it == open.end()) {
      r->buckets.emplace_back();
      kinds.emplace_back(p.scalar_type(), p.device());
      it = open.emplace(key, std::make_pair(r->buckets.size() - 1, int64_t(0))).first;
    }
    auto& b = r->buckets[it->second.first];
    r->bucketOf[k] = it->second.first;
    int64_t off = 0;
    for (auto q : b.params) off += ps[q].numel();
    r->offsetOf[k] = off;
    b.params.push_back(k);
    b.offsets.push_back(off);
    it->second.second += bytes;
  }
  for (size_t k = 0; k < r->buckets.size(); k++) {
    auto& b = r->buckets[k];
    int64_t n = 0;
    for (auto q : b.params) n += ps[q].numel();
    b.flat = at::zeros({n}, at::TensorOptions().dtype(kinds[k].first).device(kinds[k].second));
  }
  if (findUnused) r->used = at::zeros({static_cast<int64_t>(P)}, at::TensorOptions().dtype(at::kInt).device(ps[0].device()));
  // hooks on the gradient accumulators (held here so they outlive the graphs that reference them)
  std::weak_ptr<ReducerState> weak = r;
  for (size_t i = 0; i < P; i++) {
    auto acc = torch::autograd::impl::grad_accumulator(ps[i]);
    if (!acc) ThrowArg(kOp, "parameter " + std::to_string(i) + " has no gradient accumulator");
    r->hookKeys.push_back(acc->add_post_hook(std::make_unique<ReadyHook>(weak, i)));
    r->accs.push_back(acc);
  }
  auto* h = new ReducerHandle{r};
  auto ext = Napi::External<ReducerHandle>::New(info.Env(), h, [](Napi::Env, ReducerHandle* p) {
    if (p->s) ReleaseReducer(*p->s);
    delete p;
  });
  napi_type_tag_object(info.Env(), ext, &kReducerTag);
  return ext;
  FLM_END
}

// distReducerPrepare(reducer, loss?): arms the hooks for the next backward pass; with findUnused and
// the loss, parameters the loss does not depend on are marked ready at once.
FLM_FN(DistReducerPrepare) {
  FLM_OP("distReducerPrepare")
  auto r = ReducerArg(info, 0);
  auto loss = OptT(info, 1, kOp);
  std::lock_guard<std::recursive_mutex> l(r->mu);
  r->g->Check();
  // A step abandoned half-way (an exception between backward and finalize): let its work drain first,
  // so the buckets are not refilled while a collective still reads them.
  for (auto& b : r->buckets) {
    if (b.launched && b.work) WaitWork(*r->g, b.work, r->timeout, "gradient allreduce (abandoned step)");
    b.work.reset();
    b.launched = false;
    b.inBackward = false;
    b.pending = b.params.size();
  }
  if (r->usedWork) WaitWork(*r->g, r->usedWork, r->timeout, "unused-parameter allreduce (abandoned step)");
  r->usedWork.reset();
  std::fill(r->ready.begin(), r->ready.end(), 0);
  if (r->findUnused) r->used.zero_();
  r->next = 0;
  r->launchedInBackward = 0;
  r->armed = true;
  if (r->findUnused && loss) r->MarkUnreachable(*loss);
  return info.Env().Undefined();
  FLM_END
}

// distReducerFinalize(reducer) -> { buckets, launchedInBackward, waitMs }
// Launches the buckets that backward did not fill (unused parameters contribute their current .grad or
// zeros), waits for all of them, and writes the averaged gradients into every parameter's .grad.
FLM_FN(DistReducerFinalize) {
  FLM_OP("distReducerFinalize")
  auto r = ReducerArg(info, 0);
  std::lock_guard<std::recursive_mutex> l(r->mu);
  if (!r->armed) throw std::runtime_error("DistributedDataParallel: finalize() without prepare() for this step");
  auto& g = *r->g;
  r->armed = false;
  for (size_t k = r->next; k < r->buckets.size(); k++) {
    auto& b = r->buckets[k];
    for (auto i : b.params)
      if (!r->ready[i]) r->CopyIn(i);
    b.pending = 0;
  }
  r->LaunchReady(false);
  if (r->findUnused) {
    std::vector<at::Tensor> v{r->used};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = r->timeout;
    r->usedWork = Launch(g, "unused-parameter allreduce", [&] { return g.pg->allreduce(v, o); });
  }
  auto t0 = Clock::now();
  auto deadline = t0 + r->timeout;
  auto left = [&] {
    auto ms = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return ms.count() < 1 ? milliseconds(1) : ms;
  };
  for (size_t k = 0; k < r->buckets.size(); k++) {
    auto& b = r->buckets[k];
    WaitWork(g, b.work, left(), "gradient allreduce (bucket " + std::to_string(k) + " of " + std::to_string(r->buckets.size()) + ")");
    b.work.reset();
    b.launched = false;
  }
  std::vector<int32_t> usedHost;
  if (r->findUnused) {
    WaitWork(g, r->usedWork, left(), "unused-parameter allreduce");
    r->usedWork.reset();
    auto u = r->used.to(at::kCPU).contiguous();
    usedHost.assign(u.data_ptr<int32_t>(), u.data_ptr<int32_t>() + u.numel());
  }
  double waitMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  {
    at::NoGradGuard ng;
    for (size_t i = 0; i < r->params.size(); i++) {
      if (r->findUnused && usedHost[i] == 0) continue;  // no rank produced a gradient: .grad stays as it is
      auto& p = r->params[i];
      auto view = r->buckets[r->bucketOf[i]].flat.narrow(0, r->offsetOf[i], p.numel()).view(p.sizes());
      auto& grad = p.mutable_grad();
      if (grad.defined())
        grad.copy_(view);
      else
        grad = view.clone();
    }
  }
  auto o = Napi::Object::New(info.Env());
  o.Set("buckets", static_cast<double>(r->buckets.size()));
  o.Set("launchedInBackward", static_cast<double>(r->launchedInBackward));
  o.Set("waitMs", waitMs);
  return o;
  FLM_END
}

// distReducerBuckets(reducer) -> number[][] (parameter indices of each bucket, in launch order)
FLM_FN(DistReducerBuckets) {
  FLM_OP("distReducerBuckets")
  auto r = ReducerArg(info, 0);
  auto env = info.Env();
  auto out = Napi::Array::New(env, r->buckets.size());
  for (size_t k = 0; k < r->buckets.size(); k++) {
    auto a = Napi::Array::New(env, r->buckets[k].params.size());
    for (size_t j = 0; j < r->buckets[k].params.size(); j++) a.Set(static_cast<uint32_t>(j), static_cast<double>(r->buckets[k].params[j]));
    out.Set(static_cast<uint32_t>(k), a);
  }
  return out;
  FLM_END
}

// distReducerRelease(reducer): removes the hooks; the reducer cannot be used afterwards.
FLM_FN(DistReducerRelease) {
  FLM_OP("distReducerRelease")
  auto* h = Unwrap<ReducerHandle>(info, 0, kReducerTag, "reducer");
  if (h->s) {
    ReleaseReducer(*h->s);
    h->s.reset();
  }
  return info.Env().Undefined();
  FLM_END
}

}  // namespace flm
