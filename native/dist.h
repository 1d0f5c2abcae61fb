// Shared by the ops_dist_*.cc files: distributed data parallelism on libtorch's own c10d.
//
// ops_dist_store.cc        TCPStore rendezvous and the user key/value ops on it
// ops_dist_group.cc        ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA builds), failure bookkeeping
// ops_dist_collectives.cc  allReduce / broadcast / allGather / barrier with timeouts
// ops_dist_reducer.cc      a gradient Reducer in the spirit of torch.nn.parallel.DistributedDataParallel's:
//   autograd post-hooks on the parameters' gradient accumulators copy each gradient into a flat bucket as
//   soon as backward produces it, and a bucket whose gradients are all there is all-reduced
//   asynchronously (Gloo/NCCL threads) while backward goes on computing the next ones. finalize() waits
//   for every bucket and writes the averaged gradients back.
//
// Failures never abort the process: every c10d/Gloo error or timeout becomes a JS Error naming the
// collective and the rank, and marks the group broken so that later calls fail at once instead of
// hanging. A broken group is deliberately leaked on destroy (its worker threads may still be blocked
// in a transport call until Gloo's own timeout; joining them would stall the exit).
#pragma once

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

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace flm {

using std::chrono::milliseconds;

std::string Msg(const std::exception& e);
std::string FirstLine(std::string m);

// One process group: owned by its JS handle, shared with the reducers built on it.
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

inline constexpr napi_type_tag kGroupTag = {0x8f1c2a7d3b4e5f60ULL, 0x1d2e3f405a6b7c01ULL};

template <class T>
T* Unwrap(const Napi::CallbackInfo& info, int i, const napi_type_tag& tag, const char* what) {
  Napi::Value v = info[i];
  if (!HasTypeTag(info.Env(), v, tag))
    ThrowArg(what, std::string("argument ") + std::to_string(i) + " must be a " + what + " handle");
  return v.As<Napi::External<T>>().Data();
}

std::shared_ptr<GroupState> GroupArg(const Napi::CallbackInfo& info, int i);
milliseconds TimeoutArg(const Napi::CallbackInfo& info, int i, const GroupState& g);

// Waits for one piece of work; any error or timeout marks the group broken and is rethrown with context.
void WaitWork(GroupState& g, const c10::intrusive_ptr<c10d::Work>& w, milliseconds t, const std::string& what);

// Starts one collective; a failure to start marks the group broken, as in WaitWork.
template <class F>
c10::intrusive_ptr<c10d::Work> Launch(GroupState& g, const std::string& what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    std::string full = what + " failed on " + g.Where() + ": " + FirstLine(Msg(e));
    g.Fail(full);
    throw std::runtime_error(full);
  }
}

// The TCPStore every rank of a job connects to (rank 0 hosts it); ops_dist_store.cc.
// A non-loopback master needs a non-empty token (the shared secret every rank presents); a loopback
// master's store only serves loopback clients (a kernel socket filter on rank 0's listening socket).
c10::intrusive_ptr<c10d::Store> Rendezvous(const std::string& addr, int64_t port, int rank, int size, milliseconds timeout,
                                           const std::string& token);

}  // namespace flm
