// The rendezvous store: rank 0 hosts a c10d TCPStore that every rank connects to. Process groups are
// built over it (ops_dist_group.cc), and the distStore* ops give JS a small shared key/value space on it.
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "dist.h"

namespace flm {

// Rank 0 waits for every rank to join, bounded by the timeout.
c10::intrusive_ptr<c10d::Store> Rendezvous(const std::string& addr, int64_t port, int rank, int size, milliseconds timeout) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = static_cast<size_t>(size);
  so.waitWorkers = true;
  so.timeout = timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(addr, so);
  } catch (const std::exception& e) {
    throw std::runtime_error("rendezvous at " + addr + ":" + std::to_string(port) + " failed on rank " +
                             std::to_string(rank) + " of " + std::to_string(size) + " (timeout " +
                             std::to_string(timeout.count()) + " ms): " + FirstLine(Msg(e)));
  }
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

}  // namespace flm
