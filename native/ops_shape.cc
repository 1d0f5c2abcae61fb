// Shape, view, indexing and joining ops.
#include "core.h"

namespace flm {

#define T1(FN, NAME, EXPR)                        \
  FLM_FN(FN) {                                    \
    FLM_OP(NAME)                                  \
    const auto& a = T(info, 0, kOp);              \
    return Wrap(info.Env(), EXPR);                \
    FLM_END                                       \
  }

T1(Reshape, "reshape", a.reshape(ArgIntList(info, 1, kOp, {-1, kMaxSafeInt})))
T1(View, "view", a.view(ArgIntList(info, 1, kOp, {-1, kMaxSafeInt})))
T1(Permute, "permute", a.permute(ArgIntList(info, 1, kOp)))
T1(Transpose, "transpose", a.transpose(ArgInt(info, 1, kOp), ArgInt(info, 2, kOp)))
T1(Expand, "expand", a.expand(ArgIntList(info, 1, kOp, {-1, kMaxSafeInt})))
T1(Repeat, "repeat", a.repeat(ArgIntList(info, 1, kOp, kCount)))
T1(SqueezeAll, "squeeze", a.squeeze())
T1(Squeeze, "squeeze", a.squeeze(ArgInt(info, 1, kOp)))
T1(Unsqueeze, "unsqueeze", a.unsqueeze(ArgInt(info, 1, kOp)))
T1(Flatten, "flatten", a.flatten(ArgInt(info, 1, kOp), ArgInt(info, 2, kOp)))
T1(Narrow, "narrow", a.narrow(ArgInt(info, 1, kOp), ArgInt(info, 2, kOp), ArgInt(info, 3, kOp, kCount)))
T1(Select, "select", a.select(ArgInt(info, 1, kOp), ArgInt(info, 2, kOp)))
T1(Tril, "tril", at::tril(a, ArgInt(info, 1, kOp)))
T1(Triu, "triu", at::triu(a, ArgInt(info, 1, kOp)))
T1(Flip, "flip", at::flip(a, ArgIntList(info, 1, kOp)))
T1(Roll, "roll", at::roll(a, ArgIntList(info, 1, kOp), ArgIntList(info, 2, kOp)))
T1(IndexSelect, "indexSelect", at::index_select(a, ArgInt(info, 1, kOp), T(info, 2, kOp)))
T1(Gather, "gather", at::gather(a, ArgInt(info, 1, kOp), T(info, 2, kOp)))
// masked_fill in libtorch 1.13 silently ignores a float mask (and only warns on uint8): require bool.
static Napi::Value MaskedFillOf(const Napi::CallbackInfo& info, const char* kOp, bool scalar) {
  const auto& a = T(info, 0, kOp);
  const auto& mask = T(info, 1, kOp);
  if (mask.scalar_type() != at::kBool) ThrowArg(kOp, std::string("mask must be a bool tensor, got ") + c10::toString(mask.scalar_type()));
  if (scalar) return Wrap(info.Env(), at::masked_fill(a, mask, ArgScalar(info, 2, kOp)));
  return Wrap(info.Env(), at::masked_fill(a, mask, T(info, 2, kOp)));
}
FLM_FN(MaskedFill) {
  FLM_OP("maskedFill")
  return MaskedFillOf(info, kOp, false);
  FLM_END
}
FLM_FN(MaskedFillScalar) {
  FLM_OP("maskedFill")
  return MaskedFillOf(info, kOp, true);
  FLM_END
}
T1(MaskedSelect, "maskedSelect", at::masked_select(a, T(info, 1, kOp)))
T1(Nonzero, "nonzero", at::nonzero(a))
T1(Diagonal, "diagonal", at::diagonal(a, ArgInt(info, 1, kOp), ArgInt(info, 2, kOp), ArgInt(info, 3, kOp)))
T1(ExpandAs, "expandAs", a.expand_as(T(info, 1, kOp)))
T1(RepeatInterleave, "repeatInterleave", at::repeat_interleave(a, ArgInt(info, 1, kOp, kCount), OptInt(info, 2, kOp)))

// slice(a, dim, start, end, step) with Python semantics for negative/overflowing bounds.
FLM_FN(Slice) {
  FLM_OP("slice")
  const auto& a = T(info, 0, kOp);
  auto step = ArgInt(info, 4, kOp);
  if (step <= 0) ThrowArg(kOp, "slice step must be positive");
  return Wrap(info.Env(), a.slice(ArgInt(info, 1, kOp), OptInt(info, 2, kOp), OptInt(info, 3, kOp), step));
  FLM_END
}

FLM_FN(Scatter) {
  FLM_OP("scatter")
  return Wrap(info.Env(), at::scatter(T(info, 0, kOp), ArgInt(info, 1, kOp), T(info, 2, kOp), T(info, 3, kOp)));
  FLM_END
}
FLM_FN(ScatterScalar) {
  FLM_OP("scatter")
  return Wrap(info.Env(), at::scatter(T(info, 0, kOp), ArgInt(info, 1, kOp), T(info, 2, kOp), ArgScalar(info, 3, kOp)));
  FLM_END
}
FLM_FN(ScatterAdd) {
  FLM_OP("scatterAdd")
  return Wrap(info.Env(), at::scatter_add(T(info, 0, kOp), ArgInt(info, 1, kOp), T(info, 2, kOp), T(info, 3, kOp)));
  FLM_END
}
// indexPut(a, indices[], values, accumulate) -> new tensor
FLM_FN(IndexPut) {
  FLM_OP("indexPut")
  auto idx = TList(info, 1, kOp);
  c10::List<c10::optional<at::Tensor>> l;
  for (auto& t : idx) l.push_back(t);
  return Wrap(info.Env(), at::index_put(T(info, 0, kOp), l, T(info, 2, kOp), ArgBool(info, 3, kOp)));
  FLM_END
}
// index(a, indices[]) advanced indexing along the leading dims
FLM_FN(Index) {
  FLM_OP("index")
  auto idx = TList(info, 1, kOp);
  c10::List<c10::optional<at::Tensor>> l;
  for (auto& t : idx) l.push_back(t);
  return Wrap(info.Env(), at::index(T(info, 0, kOp), l));
  FLM_END
}

FLM_FN(Cat) {
  FLM_OP("cat")
  auto ts = TList(info, 0, kOp);
  if (ts.empty()) ThrowArg(kOp, "expected a non-empty list of tensors");
  return Wrap(info.Env(), at::cat(ts, ArgInt(info, 1, kOp)));
  FLM_END
}
FLM_FN(Stack) {
  FLM_OP("stack")
  auto ts = TList(info, 0, kOp);
  if (ts.empty()) ThrowArg(kOp, "expected a non-empty list of tensors");
  return Wrap(info.Env(), at::stack(ts, ArgInt(info, 1, kOp)));
  FLM_END
}
// split(a, sizeOrSizes, dim)
FLM_FN(Split) {
  FLM_OP("split")
  const auto& a = T(info, 0, kOp);
  auto dim = ArgInt(info, 2, kOp);
  if (info[1].IsArray()) return WrapList(info.Env(), at::split_with_sizes(a, ArgIntList(info, 1, kOp, kCount), dim));
  auto s = ArgInt(info, 1, kOp);
  if (s <= 0) ThrowArg(kOp, "split size must be positive");
  return WrapList(info.Env(), at::split(a, s, dim));
  FLM_END
}
FLM_FN(Chunk) {
  FLM_OP("chunk")
  auto n = ArgInt(info, 1, kOp);
  if (n <= 0) ThrowArg(kOp, "chunk count must be positive");
  return WrapList(info.Env(), at::chunk(T(info, 0, kOp), n, ArgInt(info, 2, kOp)));
  FLM_END
}
FLM_FN(Unbind) {
  FLM_OP("unbind")
  return WrapList(info.Env(), at::unbind(T(info, 0, kOp), ArgInt(info, 1, kOp)));
  FLM_END
}

// topk(a, k, dim, largest, sorted) -> [values, indices]
FLM_FN(Topk) {
  FLM_OP("topk")
  auto r = at::topk(T(info, 0, kOp), ArgInt(info, 1, kOp, kCount), ArgInt(info, 2, kOp), ArgBool(info, 3, kOp), ArgBool(info, 4, kOp));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  FLM_END
}
// sort(a, dim, descending, stable) -> [values, indices]
FLM_FN(Sort) {
  FLM_OP("sort")
  auto r = at::sort(T(info, 0, kOp), c10::optional<bool>(ArgBool(info, 3, kOp)), ArgInt(info, 1, kOp), ArgBool(info, 2, kOp));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  FLM_END
}

}  // namespace flm
