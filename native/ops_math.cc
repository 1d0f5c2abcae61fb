// Elementwise arithmetic, comparisons, reductions, linear algebra, dtype/device moves, in-place ops.
#include "core.h"

namespace flm {

#define UNARY(FN, NAME, EXPR)                     \
  FLM_FN(FN) {                                    \
    FLM_OP(NAME)                                  \
    const auto& a = T(info, 0, kOp);              \
    return Wrap(info.Env(), EXPR);                \
    FLM_END                                       \
  }

UNARY(Neg, "neg", at::neg(a))
UNARY(Abs, "abs", at::abs(a))
UNARY(Exp, "exp", at::exp(a))
UNARY(Log, "log", at::log(a))
UNARY(Log1p, "log1p", at::log1p(a))
UNARY(Expm1, "expm1", at::expm1(a))
UNARY(Sqrt, "sqrt", at::sqrt(a))
UNARY(Rsqrt, "rsqrt", at::rsqrt(a))
UNARY(Tanh, "tanh", at::tanh(a))
UNARY(Sigmoid, "sigmoid", at::sigmoid(a))
UNARY(Relu, "relu", at::relu(a))
UNARY(Erf, "erf", at::erf(a))
UNARY(Sin, "sin", at::sin(a))
UNARY(Cos, "cos", at::cos(a))
UNARY(Sign, "sign", at::sign(a))
UNARY(Floor, "floor", at::floor(a))
UNARY(Ceil, "ceil", at::ceil(a))
UNARY(Round, "round", at::round(a))
UNARY(Reciprocal, "reciprocal", at::reciprocal(a))
UNARY(Square, "square", at::square(a))
UNARY(LogicalNot, "logicalNot", at::logical_not(a))
UNARY(IsNan, "isnan", at::isnan(a))
UNARY(IsFinite, "isfinite", at::isfinite(a))
UNARY(Contiguous, "contiguous", a.contiguous())
UNARY(Clone, "clone", a.clone())
UNARY(Silu, "silu", at::silu(a))

FLM_FN(Gelu) {
  FLM_OP("gelu")
  auto approx = ArgString(info, 1, kOp);
  if (approx != "none" && approx != "tanh") ThrowArg(kOp, "approximate must be 'none' or 'tanh'");
  return Wrap(info.Env(), at::gelu(T(info, 0, kOp), approx));
  FLM_END
}

// Binary ops: FN(tensor, tensor) and FN##Scalar(tensor, scalar), both reporting under NAME (a handle is a
// number, so the two cannot share one entry point).
#define BINARY(FN, NAME, CALL)                                              \
  FLM_FN(FN) {                                                              \
    FLM_OP(NAME)                                                            \
    const auto& a = T(info, 0, kOp);                                        \
    return Wrap(info.Env(), CALL(a, T(info, 1, kOp)));                      \
    FLM_END                                                                 \
  }                                                                         \
  FLM_FN(FN##Scalar) {                                                      \
    FLM_OP(NAME)                                                            \
    const auto& a = T(info, 0, kOp);                                        \
    return Wrap(info.Env(), CALL(a, ArgScalar(info, 1, kOp)));              \
    FLM_END                                                                 \
  }

static at::Tensor DoAdd(const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }
static at::Tensor DoAdd(const at::Tensor& a, const at::Scalar& b) { return at::add(a, b); }
static at::Tensor DoSub(const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); }
static at::Tensor DoSub(const at::Tensor& a, const at::Scalar& b) { return at::sub(a, b); }
static at::Tensor DoMul(const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }
static at::Tensor DoMul(const at::Tensor& a, const at::Scalar& b) { return at::mul(a, b); }
static at::Tensor DoDiv(const at::Tensor& a, const at::Tensor& b) { return at::div(a, b); }
static at::Tensor DoDiv(const at::Tensor& a, const at::Scalar& b) { return at::div(a, b); }
static at::Tensor DoPow(const at::Tensor& a, const at::Tensor& b) { return at::pow(a, b); }
static at::Tensor DoPow(const at::Tensor& a, const at::Scalar& b) { return at::pow(a, b); }
static at::Tensor DoEq(const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); }
static at::Tensor DoEq(const at::Tensor& a, const at::Scalar& b) { return at::eq(a, b); }
static at::Tensor DoNe(const at::Tensor& a, const at::Tensor& b) { return at::ne(a, b); }
static at::Tensor DoNe(const at::Tensor& a, const at::Scalar& b) { return at::ne(a, b); }
static at::Tensor DoLt(const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); }
static at::Tensor DoLt(const at::Tensor& a, const at::Scalar& b) { return at::lt(a, b); }
static at::Tensor DoLe(const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); }
static at::Tensor DoLe(const at::Tensor& a, const at::Scalar& b) { return at::le(a, b); }
static at::Tensor DoGt(const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); }
static at::Tensor DoGt(const at::Tensor& a, const at::Scalar& b) { return at::gt(a, b); }
static at::Tensor DoGe(const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); }
static at::Tensor DoGe(const at::Tensor& a, const at::Scalar& b) { return at::ge(a, b); }
static at::Tensor DoRemainder(const at::Tensor& a, const at::Tensor& b) { return at::remainder(a, b); }
static at::Tensor DoRemainder(const at::Tensor& a, const at::Scalar& b) { return at::remainder(a, b); }
static at::Tensor DoFloorDiv(const at::Tensor& a, const at::Tensor& b) { return at::floor_divide(a, b); }
static at::Tensor DoFloorDiv(const at::Tensor& a, const at::Scalar& b) { return at::floor_divide(a, b); }

BINARY(Add, "add", DoAdd)
BINARY(Sub, "sub", DoSub)
BINARY(Mul, "mul", DoMul)
BINARY(Div, "div", DoDiv)
BINARY(Pow, "pow", DoPow)
BINARY(Eq, "eq", DoEq)
BINARY(Ne, "ne", DoNe)
BINARY(Lt, "lt", DoLt)
BINARY(Le, "le", DoLe)
BINARY(Gt, "gt", DoGt)
BINARY(Ge, "ge", DoGe)
BINARY(Remainder, "remainder", DoRemainder)
BINARY(FloorDiv, "floorDivide", DoFloorDiv)

#define BINARY_T(FN, NAME, EXPR)                  \
  FLM_FN(FN) {                                    \
    FLM_OP(NAME)                                  \
    const auto& a = T(info, 0, kOp);              \
    const auto& b = T(info, 1, kOp);              \
    return Wrap(info.Env(), EXPR);                \
    FLM_END                                       \
  }
BINARY_T(Minimum, "minimum", at::minimum(a, b))
BINARY_T(Maximum, "maximum", at::maximum(a, b))
BINARY_T(LogicalAnd, "logicalAnd", at::logical_and(a, b))
BINARY_T(LogicalOr, "logicalOr", at::logical_or(a, b))
BINARY_T(LogicalXor, "logicalXor", at::logical_xor(a, b))
BINARY_T(Matmul, "matmul", at::matmul(a, b))
BINARY_T(Bmm, "bmm", at::bmm(a, b))
BINARY_T(Mm, "mm", at::mm(a, b))
BINARY_T(Outer, "outer", at::outer(a, b))
BINARY_T(Atan2, "atan2", at::atan2(a, b))

// addScaled(a, b, alpha): a + alpha * b in one kernel
FLM_FN(AddScaled) {
  FLM_OP("add")
  return Wrap(info.Env(), at::add(T(info, 0, kOp), T(info, 1, kOp), ArgScalar(info, 2, kOp)));
  FLM_END
}

// A clamp bound: integral numbers become integer scalars so that an int tensor stays int (as in Python,
// where clamp(int_tensor, max=4) is int and clamp(int_tensor, max=4.0) is float).
static c10::optional<at::Scalar> ClampBound(const Napi::CallbackInfo& info, int i, const char* op) {
  auto d = OptDouble(info, i, op);
  if (!d) return c10::nullopt;
  if (std::isfinite(*d) && std::floor(*d) == *d && std::fabs(*d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(*d));
  return at::Scalar(*d);
}

FLM_FN(Clamp) {
  FLM_OP("clamp")
  const auto& a = T(info, 0, kOp);
  return Wrap(info.Env(), at::clamp(a, ClampBound(info, 1, kOp), ClampBound(info, 2, kOp)));
  FLM_END
}

// where(c, a, b, aScalar?, bScalar?): a null tensor argument takes its scalar.
FLM_FN(Where) {
  FLM_OP("where")
  const auto& c = T(info, 0, kOp);
  bool ta = !info[1].IsNull() && !info[1].IsUndefined();
  bool tb = !info[2].IsNull() && !info[2].IsUndefined();
  if (ta && tb) return Wrap(info.Env(), at::where(c, T(info, 1, kOp), T(info, 2, kOp)));
  if (ta) return Wrap(info.Env(), at::where(c, T(info, 1, kOp), ArgScalar(info, 4, kOp)));
  if (tb) return Wrap(info.Env(), at::where(c, ArgScalar(info, 3, kOp), T(info, 2, kOp)));
  return Wrap(info.Env(), at::where(c, ArgScalar(info, 3, kOp), ArgScalar(info, 4, kOp)));
  FLM_END
}

FLM_FN(Linear) {
  FLM_OP("linear")
  auto bias = OptT(info, 2, kOp);
  return Wrap(info.Env(), at::linear(T(info, 0, kOp), T(info, 1, kOp), bias ? *bias : at::Tensor()));
  FLM_END
}

FLM_FN(Einsum) {
  FLM_OP("einsum")
  return Wrap(info.Env(), at::einsum(ArgString(info, 0, kOp), TList(info, 1, kOp)));
  FLM_END
}

FLM_FN(Baddbmm) {
  FLM_OP("baddbmm")
  return Wrap(info.Env(), at::baddbmm(T(info, 0, kOp), T(info, 1, kOp), T(info, 2, kOp), ArgScalar(info, 3, kOp), ArgScalar(info, 4, kOp)));
  FLM_END
}

// ---------------------------------------------------------------- reductions
// dims: [] means all dimensions.
#define REDUCE_DIMS(FN, NAME, ALL, DIMS)                                  \
  FLM_FN(FN) {                                                            \
    FLM_OP(NAME)                                                          \
    const auto& a = T(info, 0, kOp);                                      \
    auto dims = ArgIntList(info, 1, kOp);                                 \
    bool keep = ArgBool(info, 2, kOp);                                    \
    auto dt = OptDtype(info, 3, kOp);                                     \
    if (dims.empty() && !keep) return Wrap(info.Env(), ALL);              \
    return Wrap(info.Env(), DIMS);                                        \
    FLM_END                                                               \
  }
REDUCE_DIMS(Sum, "sum", at::sum(a, dt), at::sum(a, dims, keep, dt))
REDUCE_DIMS(Mean, "mean", at::mean(a, dt), at::mean(a, dims, keep, dt))

FLM_FN(Prod) {
  FLM_OP("prod")
  const auto& a = T(info, 0, kOp);
  auto dim = OptInt(info, 1, kOp);
  if (!dim) return Wrap(info.Env(), at::prod(a));
  return Wrap(info.Env(), at::prod(a, *dim, ArgBool(info, 2, kOp)));
  FLM_END
}

FLM_FN(Amax) {
  FLM_OP("amax")
  return Wrap(info.Env(), at::amax(T(info, 0, kOp), ArgIntList(info, 1, kOp), ArgBool(info, 2, kOp)));
  FLM_END
}
FLM_FN(Amin) {
  FLM_OP("amin")
  return Wrap(info.Env(), at::amin(T(info, 0, kOp), ArgIntList(info, 1, kOp), ArgBool(info, 2, kOp)));
  FLM_END
}
// maxDim(a, dim, keep) -> [values, indices]
FLM_FN(MaxDim) {
  FLM_OP("max")
  auto r = at::max(T(info, 0, kOp), ArgInt(info, 1, kOp), ArgBool(info, 2, kOp));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  FLM_END
}
FLM_FN(MinDim) {
  FLM_OP("min")
  auto r = at::min(T(info, 0, kOp), ArgInt(info, 1, kOp), ArgBool(info, 2, kOp));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  FLM_END
}
FLM_FN(MaxAll) {
  FLM_OP("max")
  return Wrap(info.Env(), at::max(T(info, 0, kOp)));
  FLM_END
}
FLM_FN(MinAll) {
  FLM_OP("min")
  return Wrap(info.Env(), at::min(T(info, 0, kOp)));
  FLM_END
}
FLM_FN(Argmax) {
  FLM_OP("argmax")
  return Wrap(info.Env(), at::argmax(T(info, 0, kOp), OptInt(info, 1, kOp), ArgBool(info, 2, kOp)));
  FLM_END
}
FLM_FN(Argmin) {
  FLM_OP("argmin")
  return Wrap(info.Env(), at::argmin(T(info, 0, kOp), OptInt(info, 1, kOp), ArgBool(info, 2, kOp)));
  FLM_END
}
FLM_FN(Logsumexp) {
  FLM_OP("logsumexp")
  const auto& a = T(info, 0, kOp);
  auto dims = ArgIntList(info, 1, kOp);
  if (dims.empty())  // [] means all dimensions (at::logsumexp fails on an empty list)
    for (int64_t i = 0; i < a.dim(); i++) dims.push_back(i);
  return Wrap(info.Env(), at::logsumexp(a, dims, ArgBool(info, 2, kOp)));
  FLM_END
}
// var/std(a, dims, correction, keep)
FLM_FN(Var) {
  FLM_OP("var")
  auto dims = ArgIntList(info, 1, kOp);
  c10::optional<at::IntArrayRef> d;
  if (!dims.empty()) d = at::IntArrayRef(dims);
  return Wrap(info.Env(), at::var(T(info, 0, kOp), d, c10::optional<int64_t>(ArgInt(info, 2, kOp)), ArgBool(info, 3, kOp)));
  FLM_END
}
FLM_FN(Std) {
  FLM_OP("std")
  auto dims = ArgIntList(info, 1, kOp);
  c10::optional<at::IntArrayRef> d;
  if (!dims.empty()) d = at::IntArrayRef(dims);
  return Wrap(info.Env(), at::std(T(info, 0, kOp), d, c10::optional<int64_t>(ArgInt(info, 2, kOp)), ArgBool(info, 3, kOp)));
  FLM_END
}
// norm(a, p, dims, keep)
FLM_FN(Norm) {
  FLM_OP("norm")
  const auto& a = T(info, 0, kOp);
  auto p = ArgDouble(info, 1, kOp);
  auto dims = ArgIntList(info, 2, kOp);
  bool keep = ArgBool(info, 3, kOp);
  if (dims.empty()) {
    std::vector<int64_t> all(a.dim());
    for (int64_t i = 0; i < a.dim(); i++) all[i] = i;
    return Wrap(info.Env(), at::norm(a, at::Scalar(p), all, keep));
  }
  return Wrap(info.Env(), at::norm(a, at::Scalar(p), dims, keep));
  FLM_END
}
FLM_FN(Any) {
  FLM_OP("any")
  const auto& a = T(info, 0, kOp);
  auto dim = OptInt(info, 1, kOp);
  if (!dim) return Wrap(info.Env(), at::any(a));
  return Wrap(info.Env(), at::any(a, *dim, ArgBool(info, 2, kOp)));
  FLM_END
}
FLM_FN(All) {
  FLM_OP("all")
  const auto& a = T(info, 0, kOp);
  auto dim = OptInt(info, 1, kOp);
  if (!dim) return Wrap(info.Env(), at::all(a));
  return Wrap(info.Env(), at::all(a, *dim, ArgBool(info, 2, kOp)));
  FLM_END
}
FLM_FN(Cumsum) {
  FLM_OP("cumsum")
  return Wrap(info.Env(), at::cumsum(T(info, 0, kOp), ArgInt(info, 1, kOp), OptDtype(info, 2, kOp)));
  FLM_END
}
FLM_FN(CountNonzero) {
  FLM_OP("countNonzero")
  return Wrap(info.Env(), at::count_nonzero(T(info, 0, kOp), ArgIntList(info, 1, kOp)));
  FLM_END
}
FLM_FN(Allclose) {
  FLM_OP("allclose")
  return Napi::Boolean::New(info.Env(), at::allclose(T(info, 0, kOp), T(info, 1, kOp), ArgDouble(info, 2, kOp), ArgDouble(info, 3, kOp)));
  FLM_END
}
FLM_FN(Equal) {
  FLM_OP("equal")
  return Napi::Boolean::New(info.Env(), at::equal(T(info, 0, kOp), T(info, 1, kOp)));
  FLM_END
}

// ---------------------------------------------------------------- dtype / device
// to(t, dtypeCode|null, device|null, copy)
FLM_FN(To) {
  FLM_OP("to")
  const auto& a = T(info, 0, kOp);
  auto dt = OptDtype(info, 1, kOp);
  bool copy = ArgBool(info, 3, kOp);
  at::Device dev = a.device();
  if (!info[2].IsNull() && !info[2].IsUndefined()) dev = ArgDevice(info, 2, kOp);
  return Wrap(info.Env(), a.to(dev, dt ? *dt : a.scalar_type(), false, copy));
  FLM_END
}

// ---------------------------------------------------------------- in place (return the same handle)
#define INPLACE(FN, NAME, STMT)                  \
  FLM_FN(FN) {                                   \
    FLM_OP(NAME)                                 \
    auto a = T(info, 0, kOp);                    \
    STMT;                                        \
    return info[0];                              \
    FLM_END                                      \
  }
INPLACE(Zero_, "zero_", a.zero_())
INPLACE(Fill_, "fill_", a.fill_(ArgScalar(info, 1, kOp)))
INPLACE(Copy_, "copy_", a.copy_(T(info, 1, kOp)))
INPLACE(AddI_, "add_", a.add_(T(info, 1, kOp), ArgScalar(info, 2, kOp)))
INPLACE(MulI_, "mul_", a.mul_(T(info, 1, kOp)))
INPLACE(DivI_, "div_", a.div_(T(info, 1, kOp)))
INPLACE(SubI_, "sub_", a.sub_(T(info, 1, kOp), ArgScalar(info, 2, kOp)))
INPLACE(AddScalarI_, "add_", a.add_(ArgScalar(info, 1, kOp)))
INPLACE(MulScalarI_, "mul_", a.mul_(ArgScalar(info, 1, kOp)))
INPLACE(DivScalarI_, "div_", a.div_(ArgScalar(info, 1, kOp)))
INPLACE(SubScalarI_, "sub_", a.sub_(ArgScalar(info, 1, kOp)))
INPLACE(ClampI_, "clamp_", a.clamp_(ClampBound(info, 1, kOp), ClampBound(info, 2, kOp)))
FLM_FN(MaskedFillI_) {
  FLM_OP("maskedFill_")
  auto a = T(info, 0, kOp);
  const auto& mask = T(info, 1, kOp);
  if (mask.scalar_type() != at::kBool) ThrowArg(kOp, std::string("mask must be a bool tensor, got ") + c10::toString(mask.scalar_type()));
  a.masked_fill_(mask, ArgScalar(info, 2, kOp));
  return info[0];
  FLM_END
}

}  // namespace flm
