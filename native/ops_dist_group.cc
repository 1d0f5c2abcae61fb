// Process groups: ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA builds) over the rendezvous store,
// and the failure bookkeeping every distributed op shares (a failed collective breaks its group).
#include "dist.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#ifdef FLM_HAS_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef FLM_HAS_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>

namespace flm {

std::string Msg(const std::exception& e) {
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
  return e.what();
}

std::string FirstLine(std::string m) {
  auto cut = m.find("\nException raised from");
  if (cut != std::string::npos) m = m.substr(0, cut);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

std::shared_ptr<GroupState> GroupArg(const Napi::CallbackInfo& info, int i) {
  auto* h = Unwrap<GroupHandle>(info, i, kGroupTag, "process group");
  if (!h->s) throw std::runtime_error("the process group was destroyed");
  return h->s;
}

milliseconds TimeoutArg(const Napi::CallbackInfo& info, int i, const GroupState& g) {
  auto t = OptInt(info, i, "timeout", kPositive);
  if (!t) return g.timeout;
  if (*t <= 0) ThrowArg("timeout", "timeout must be a positive number of milliseconds");
  return milliseconds(*t);
}

void WaitWork(GroupState& g, const c10::intrusive_ptr<c10d::Work>& w, milliseconds t, const std::string& what) {
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

// distInitGroup(backend, rank, size, masterAddr, masterPort, timeoutMs, ifnames[], hostname, threads, storeToken) -> group
// Rank 0 hosts the TCPStore (and waits for every rank to join, bounded by the timeout); every rank
// then builds the process group over a per-group PrefixStore.
FLM_FN(DistInitGroup) {
  FLM_OP("distInitGroup")
  std::string backend = ArgString(info, 0, kOp);
  int64_t rank = ArgInt(info, 1, kOp, kCountInt32);
  int64_t size = ArgInt(info, 2, kOp, kPositiveInt32);
  std::string addr = ArgString(info, 3, kOp);
  int64_t port = ArgInt(info, 4, kOp, {1, 65535});
  int64_t tmo = ArgInt(info, 5, kOp, kPositive);
  auto ifnames = StrList(info, 6, kOp);
  std::string hostname = info.Length() > 7 && info[7].IsString() ? ArgString(info, 7, kOp) : "";
  int64_t threads = info.Length() > 8 && info[8].IsNumber() ? ArgInt(info, 8, kOp, kCountInt32) : 0;
  std::string token = info.Length() > 9 && info[9].IsString() ? ArgString(info, 9, kOp) : "";
  if (size < 1) ThrowArg(kOp, "worldSize must be >= 1");
  if (rank < 0 || rank >= size) ThrowArg(kOp, "rank must be in [0, worldSize)");
  if (port < 1 || port > 65535) ThrowArg(kOp, "masterPort must be in [1, 65535]");
  if (tmo <= 0) ThrowArg(kOp, "timeoutMs must be positive");

  auto s = std::make_shared<GroupState>();
  s->rank = static_cast<int>(rank);
  s->size = static_cast<int>(size);
  s->backend = backend;
  s->timeout = milliseconds(tmo);

  s->store = Rendezvous(addr, port, s->rank, s->size, s->timeout, token);
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
  auto ext = Napi::External<GroupHandle>::New(info.Env(), h, [](Napi::Env, GroupHandle* p) noexcept {
    // Also runs at environment teardown (a terminated worker): must not throw.
    try {
      delete p;
    } catch (...) {
    }
  });
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

// distDestroy(group): releases the group (a broken one is leaked, see dist.h).
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

}  // namespace flm
