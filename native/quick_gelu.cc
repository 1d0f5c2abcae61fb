// QuickGELU of OpenAI CLIP, x * sigmoid(1.702 x), forward and backward as one autograd node.
//
// Why hand-written: as ATen ops it is three passes over the activation forward (scale, sigmoid, product)
// and five backward, over the ViT's largest tensors ([B, patches, 4 * width]); fused it is one pass each
// way, and only x is kept for the backward. exp is the Cephes single-precision polynomial (as in
// avx_mathfun and Eigen), accurate to about 2 ulp; the results equal the composite's to float rounding.
#include "fused.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FLM_FUSED_QUICK_GELU_KERNEL 1
#endif
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace flm {

#ifdef FLM_FUSED_QUICK_GELU_KERNEL
namespace {

constexpr float kAlpha = 1.702f;

__attribute__((target("avx2,fma"))) inline __m256 Exp(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3365447505f)), _mm256_set1_ps(88.3762626647949f));
  // x = n ln2 + r, |r| <= ln2 / 2; exp(x) = 2^n exp(r); at the top clamp n = 128 makes 2^n inf, as exp overflows
  __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// sigmoid(1.702 x)
__attribute__((target("avx2,fma"))) inline __m256 Gate(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  return _mm256_div_ps(one, _mm256_add_ps(one, Exp(_mm256_mul_ps(x, _mm256_set1_ps(-kAlpha)))));
}

float GateScalar(float x) { return 1.f / (1.f + std::exp(-kAlpha * x)); }

__attribute__((target("avx2,fma"))) void ForwardRange(const float* x, float* y, int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(v, Gate(v)));
  }
  for (; i < end; i++) y[i] = x[i] * GateScalar(x[i]);
}

// d/dx x s(ax) = s + a x s (1 - s)
__attribute__((target("avx2,fma"))) void BackwardRange(const float* x, const float* g, float* dx, int64_t begin, int64_t end) {
  const __m256 one = _mm256_set1_ps(1.f), a = _mm256_set1_ps(kAlpha);
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 s = Gate(v);
    const __m256 d = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(a, v), s), _mm256_sub_ps(one, s), s);
    _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), d));
  }
  for (; i < end; i++) {
    const float s = GateScalar(x[i]);
    dx[i] = g[i] * (s + kAlpha * x[i] * s * (1.f - s));
  }
}

constexpr int64_t kGrain = 1 << 15;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct QuickGeluFn : public torch::autograd::Function<QuickGeluFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    RECORD_FUNCTION("flm::quick_gelu", std::vector<c10::IValue>());  // what profilers list the kernel under
    auto y = at::empty_like(x, at::MemoryFormat::Contiguous);
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { ForwardRange(xp, yp, b, e); });
    ctx->save_for_backward({x});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    TORCH_CHECK(!at::GradMode::is_enabled(), "quickGelu: the fused kernel has no double backward (start the process with FLM_FUSED_KERNELS=0)");
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor g = grads[0].contiguous();
    auto dx = at::empty_like(x, at::MemoryFormat::Contiguous);
    const float* xp = x.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float* dp = dx.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { BackwardRange(xp, gp, dp, b, e); });
    return {dx};
  }
};

bool Usable(const at::Tensor& x) {
  return FusedKernelsUsable() && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.layout() == at::kStrided &&
         x.is_contiguous() && !x.is_neg() && !at::autocast::is_cpu_enabled();
}

}  // namespace

at::Tensor FusedQuickGelu(const at::Tensor& x) {
  if (Usable(x)) return QuickGeluFn::apply(x);
  return at::mul(x, at::sigmoid(at::mul(x, 1.702)));  // a double scalar, as the composite always had
}

#else  // no x86-64 AVX2 kernel on this architecture

at::Tensor FusedQuickGelu(const at::Tensor& x) { return at::mul(x, at::sigmoid(at::mul(x, 1.702))); }

#endif

}  // namespace flm
