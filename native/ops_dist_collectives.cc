// Collectives on a process group: allReduce, broadcast, allGather and barrier, each with a timeout.
#include "dist.h"

#include <map>

namespace flm {

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
  int64_t root = ArgInt(info, 2, kOp, kCountInt32);
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

}  // namespace flm
