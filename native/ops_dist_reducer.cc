// The gradient reducer behind DistributedDataParallel (see dist.h): gradients are copied into flat
// buckets by autograd hooks as backward produces them, and each full bucket is all-reduced at once.
#include "dist.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <map>
#include <unordered_set>

namespace flm {

using Clock = std::chrono::steady_clock;

static const napi_type_tag kReducerTag = {0x8f1c2a7d3b4e5f60ULL, 0x1d2e3f405a6b7c02ULL};

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
  int64_t firstCap = ArgInt(info, 2, kOp, kPositive);
  int64_t cap = ArgInt(info, 3, kOp, kPositive);
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
  auto ext = Napi::External<ReducerHandle>::New(info.Env(), h, [](Napi::Env, ReducerHandle* p) noexcept {
    // Also runs at environment teardown (a terminated worker): must not throw.
    try {
      if (p->s) ReleaseReducer(*p->s);
      delete p;
    } catch (...) {
    }
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
