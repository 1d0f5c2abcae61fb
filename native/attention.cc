// Fused scaled dot-product attention on the CPU: softmax(q k^T * scale + mask) v, forward and backward,
// as one autograd node.
//
// Why hand-written: libtorch 1.13 has no fused CPU attention, and its CPU bmm without MKL runs every
// matrix of the batch as its own addmm (a select, a resolve_conj and a BLAS call each). Attention's
// matrices are small (L of 24 to 100 tokens, d = 64) and that per-matrix overhead held bmm to about a third
// of the matmul peak; the composite also copies the head-split q, k, v to contiguous memory (matmul's
// reshape) and keeps those copies for the backward. Here each (batch, head) pair runs register-tiled AVX2
// products straight from the strided head views, the softmax and its backward stay ATen's vectorised
// kernels, and the result is written in [B, L, heads, d] order, so merging the heads is free.
//
// The arithmetic is BERT's: scores scaled after the product, the mask added, softmax, dropout as ATen's
// dropout draws it (the same Bernoulli calls on the default generator, so a seed gives the same masks as
// the composite), then the product with v. Results equal the composite's to float rounding.
#include "fused.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/record_function.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FLM_FUSED_ATTENTION_KERNEL 1
#endif
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace flm {

#ifdef FLM_FUSED_ATTENTION_KERNEL
namespace {

// A matrix inside a strided tensor: element (i, j) at p[i * rs + j * cs].
struct Mat {
  const float* p;
  int64_t rs;
  int64_t cs;
};

int RoundUp8(int n) { return (n + 7) & ~7; }

// 8 rows of 8 floats at src (row stride ss) written as 8 columns at dst (row stride ds).
__attribute__((target("avx2,fma"))) inline void Transpose8x8(const float* src, int64_t ss, float* dst, int64_t ds) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ss), r2 = _mm256_loadu_ps(src + 2 * ss),
         r3 = _mm256_loadu_ps(src + 3 * ss), r4 = _mm256_loadu_ps(src + 4 * ss), r5 = _mm256_loadu_ps(src + 5 * ss),
         r6 = _mm256_loadu_ps(src + 6 * ss), r7 = _mm256_loadu_ps(src + 7 * ss);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
         t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44),
         u3 = _mm256_shuffle_ps(t1, t3, 0xEE), u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// out[k * np + n] = b(k, n) for n < N, 0 up to np: the right operand as contiguous rows the tiles load
// eight columns at a time from. A transposed operand (k^T, v^T: unit row stride) goes through 8x8
// register transposes, as a scalar gather there cost about as much as the product itself at L = 24.
void PackB(Mat b, int K, int N, float* out, int np) {
  for (int k = 0; k < K; k++)
    for (int n = N; n < np; n++) out[static_cast<int64_t>(k) * np + n] = 0.f;
  if (b.cs != 1 && b.rs == 1) {
    int n = 0;
    for (; n + 8 <= N; n += 8) {
      int k = 0;
      for (; k + 8 <= K; k += 8) Transpose8x8(b.p + n * b.cs + k, b.cs, out + static_cast<int64_t>(k) * np + n, np);
      for (; k < K; k++)
        for (int j = 0; j < 8; j++) out[static_cast<int64_t>(k) * np + n + j] = b.p[(n + j) * b.cs + k];
    }
    for (; n < N; n++)
      for (int k = 0; k < K; k++) out[static_cast<int64_t>(k) * np + n] = b.p[n * b.cs + k];
    return;
  }
  for (int k = 0; k < K; k++) {
    float* o = out + static_cast<int64_t>(k) * np;
    const float* src = b.p + k * b.rs;
    if (b.cs == 1) {
      std::memcpy(o, src, sizeof(float) * N);
    } else {
      for (int n = 0; n < N; n++) o[n] = src[n * b.cs];
    }
  }
}

// c[R rows, ncols] = alpha * a[R, K] . b[K, 8 * NV] (b's rows ldb apart): R x NV accumulators of 8 floats
// held in registers.
template <int R, int NV>
__attribute__((target("avx2,fma"), optimize("O3"))) void Tile(int K, const float* a, int64_t ars, int64_t acs,
                                                              const float* bp, int64_t ldb, float* c, int64_t ldc,
                                                              int ncols, float alpha) {
  __m256 s[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) s[r][v] = _mm256_setzero_ps();
  for (int k = 0; k < K; k++) {
    const float* b = bp + static_cast<int64_t>(k) * ldb;
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_ps(b + 8 * v);
    const float* ak = a + k * acs;
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m256 av = _mm256_set1_ps(ak[r * ars]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) s[r][v] = _mm256_fmadd_ps(av, bv[v], s[r][v]);
    }
  }
  const __m256 al = _mm256_set1_ps(alpha);
  for (int r = 0; r < R; r++) {
    float* cr = c + r * ldc;
    for (int v = 0; v < NV; v++) {
      const __m256 x = _mm256_mul_ps(s[r][v], al);
      const int valid = ncols - 8 * v;
      if (valid >= 8) {
        _mm256_storeu_ps(cr + 8 * v, x);
      } else if (valid > 0) {
        alignas(32) float t[8];
        _mm256_store_ps(t, x);
        std::memcpy(cr + 8 * v, t, sizeof(float) * valid);
      }
    }
  }
}

template <int NV>
void RowTiles(int M, int K, Mat a, const float* bp, int64_t ldb, float* c, int64_t ldc, int ncols, float alpha) {
  constexpr int kRows = 6;
  int i = 0;
  for (; i + kRows <= M; i += kRows) Tile<kRows, NV>(K, a.p + i * a.rs, a.rs, a.cs, bp, ldb, c + i * ldc, ldc, ncols, alpha);
  const float* ar = a.p + i * a.rs;
  float* cr = c + i * ldc;
  switch (M - i) {
    case 5: Tile<5, NV>(K, ar, a.rs, a.cs, bp, ldb, cr, ldc, ncols, alpha); break;
    case 4: Tile<4, NV>(K, ar, a.rs, a.cs, bp, ldb, cr, ldc, ncols, alpha); break;
    case 3: Tile<3, NV>(K, ar, a.rs, a.cs, bp, ldb, cr, ldc, ncols, alpha); break;
    case 2: Tile<2, NV>(K, ar, a.rs, a.cs, bp, ldb, cr, ldc, ncols, alpha); break;
    case 1: Tile<1, NV>(K, ar, a.rs, a.cs, bp, ldb, cr, ldc, ncols, alpha); break;
    default: break;
  }
}

// c[M, N] (row stride ldc, unit column stride) = alpha * a[M, K] . b[K, N]; `pack` is scratch space. A
// right operand with unit column stride and whole 8-column blocks (v, q, k, dO: N = d) is read in place.
void Gemm(int M, int N, int K, Mat a, Mat b, float* c, int64_t ldc, float alpha, std::vector<float>& pack) {
  const float* bp = b.p;
  int64_t ldb = b.rs;
  if (b.cs != 1 || N % 8 != 0) {
    const int np = RoundUp8(N);
    pack.resize(static_cast<size_t>(K) * np);
    PackB(b, K, N, pack.data(), np);
    bp = pack.data();
    ldb = np;
  }
  for (int j = 0; j < N; j += 16) {
    const int w = N - j;
    if (w > 8)
      RowTiles<2>(M, K, a, bp + j, ldb, c + j, ldc, w < 16 ? w : 16, alpha);
    else
      RowTiles<1>(M, K, a, bp + j, ldb, c + j, ldc, w, alpha);
  }
}

// A [B, H, L, D] tensor's (batch, head) matrix [L, D], or its transpose [D, L].
Mat Slice(const at::Tensor& t, int64_t b, int64_t h) {
  return {t.data_ptr<float>() + b * t.stride(0) + h * t.stride(1), t.stride(2), t.stride(3)};
}
Mat Transposed(Mat m) { return {m.p, m.cs, m.rs}; }
// Where a product writes its (batch, head) matrix of a [B, H, L, D] result (rows t.stride(2) apart).
float* Out(const at::Tensor& t, int64_t b, int64_t h) { return t.data_ptr<float>() + b * t.stride(0) + h * t.stride(1); }

// Runs fn(b, h) for every (batch, head) pair, split across the intra-op threads. `name` is what profilers
// (flm bench step --profile, torch.profiler) list the phase under; its one input, the phase's
// multiply-adds (`madds` per pair), is what the FLOP counter (ops_flops.cc) counts.
template <typename Fn>
void ForEachHead(const char* name, int64_t B, int64_t H, int64_t madds, const Fn& fn) {
  RECORD_FUNCTION(name, std::vector<c10::IValue>{c10::IValue(B * H * madds)});
  at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) fn(i / H, i % H);
  });
}

// [B, L, H, D] memory seen as [B, H, L, D]: where the products write q-, k-, v-shaped results, so that
// merging the heads afterwards (and the head-split views' backward) is free.
at::Tensor HeadMajor(int64_t B, int64_t H, int64_t L, int64_t D, const at::Tensor& like) {
  return at::empty({B, L, H, D}, like.options()).permute({0, 2, 1, 3});
}

int I(int64_t v) { return static_cast<int>(v); }

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct AttentionFn : public torch::autograd::Function<AttentionFn> {
  // q [B, H, Lq, D], k and v [B, H, Lk, D], mask broadcastable to [B, H, Lq, Lk] or empty; returns [B, Lq, H, D] (contiguous): heads already in merge order
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& mask, double p, bool train) {
    const int64_t B = q.size(0), H = q.size(1), Lq = q.size(2), Lk = k.size(2), D = q.size(3);
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
    auto scores = at::empty({B, H, Lq, Lk}, q.options());
    float* sp = scores.data_ptr<float>();
    ForEachHead("flm::attention_scores", B, H, Lq * Lk * D, [&](int64_t b, int64_t h) {
      thread_local std::vector<float> pack;
      Gemm(I(Lq), I(Lk), I(D), Slice(q, b, h), Transposed(Slice(k, b, h)), sp + (b * H + h) * Lq * Lk, Lk, scale, pack);
    });
    if (mask.numel() > 0) scores.add_(mask);
    auto probs = at::_softmax(scores, -1, false);
    at::Tensor noise, dropped = probs;
    if (train && p > 0) {  // ATen's dropout: noise = Bernoulli(1 - p) / (1 - p), the same draws
      noise = at::empty_like(probs).bernoulli_(1 - p).div_(1 - p);
      dropped = probs * noise;
    }
    auto out = at::empty({B, Lq, H, D}, q.options());
    const float* pp = dropped.data_ptr<float>();
    float* op = out.data_ptr<float>();
    ForEachHead("flm::attention_context", B, H, Lq * Lk * D, [&](int64_t b, int64_t h) {
      thread_local std::vector<float> pack;
      Gemm(I(Lq), I(D), I(Lk), {pp + (b * H + h) * Lq * Lk, Lk, 1}, Slice(v, b, h), op + b * Lq * H * D + h * D, H * D, 1.f, pack);
    });
    ctx->save_for_backward({q, k, v, probs, noise, dropped});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3], &noise = saved[4], &dropped = saved[5];
    const int64_t B = q.size(0), H = q.size(1), Lq = q.size(2), Lk = k.size(2), D = q.size(3);
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    auto dout = grads[0].permute({0, 2, 1, 3});  // [B, H, Lq, D]
    // flm's backward never records a graph of itself (no create_graph), which these kernels could not
    TORCH_CHECK(!at::GradMode::is_enabled(), "attention: the fused kernel has no double backward (start the process with FLM_FUSED_KERNELS=0)");
    if (dout.stride(3) != 1) dout = dout.contiguous();
    auto dp = at::empty({B, H, Lq, Lk}, q.options());
    auto dv = HeadMajor(B, H, Lk, D, q);
    float* dpp = dp.data_ptr<float>();
    const float* pp = dropped.data_ptr<float>();
    ForEachHead("flm::attention_backward_probs_values", B, H, 2 * Lq * Lk * D, [&](int64_t b, int64_t h) {
      thread_local std::vector<float> pack;
      const Mat g = Slice(dout, b, h);
      Gemm(I(Lq), I(Lk), I(D), g, Transposed(Slice(v, b, h)), dpp + (b * H + h) * Lq * Lk, Lk, 1.f, pack);  // dO v^T
      const Mat dropT = Transposed({pp + (b * H + h) * Lq * Lk, Lk, 1});
      Gemm(I(Lk), I(D), I(Lq), dropT, g, Out(dv, b, h), dv.stride(2), 1.f, pack);  // P^T dO
    });
    if (noise.defined()) dp.mul_(noise);
    auto ds = at::_softmax_backward_data(dp, probs, -1, at::kFloat);  // [B, H, Lq, Lk]
    auto dq = HeadMajor(B, H, Lq, D, q);
    auto dk = HeadMajor(B, H, Lk, D, q);
    const float* dsp = ds.data_ptr<float>();
    const float fs = static_cast<float>(scale);
    ForEachHead("flm::attention_backward_queries_keys", B, H, 2 * Lq * Lk * D, [&](int64_t b, int64_t h) {
      thread_local std::vector<float> pack;
      const Mat s = {dsp + (b * H + h) * Lq * Lk, Lk, 1};
      Gemm(I(Lq), I(D), I(Lk), s, Slice(k, b, h), Out(dq, b, h), dq.stride(2), fs, pack);  // dS k
      Gemm(I(Lk), I(D), I(Lq), Transposed(s), Slice(q, b, h), Out(dk, b, h), dk.stride(2), fs, pack);  // dS^T q
    });
    return {dq, dk, dv, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

bool FloatCpu(const at::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided; }

}  // namespace

c10::optional<at::Tensor> FusedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                         const c10::optional<at::Tensor>& mask, double p, bool train) {
  if (!FusedKernelsUsable()) return c10::nullopt;
  if (at::autocast::is_cpu_enabled()) return c10::nullopt;  // autocast casts the composite's products
  if (train && p >= 1) return c10::nullopt;
  for (const auto* t : {&q, &k, &v})
    if (!FloatCpu(*t) || t->dim() != 4 || t->stride(3) != 1 || t->is_neg() || t->is_conj()) return c10::nullopt;
  const int64_t B = q.size(0), H = q.size(1), Lq = q.size(2), Lk = k.size(2), D = q.size(3);
  if (k.size(0) != B || v.size(0) != B || k.size(1) != H || v.size(1) != H || v.size(2) != Lk || k.size(3) != D ||
      v.size(3) != D)
    return c10::nullopt;
  if (B == 0 || H == 0 || Lq == 0 || Lk == 0 || D == 0 || std::max({Lq, Lk, D}) > (1 << 20)) return c10::nullopt;
  at::Tensor m = at::empty({0}, q.options());  // no mask (autograd's apply takes no undefined inputs)
  if (mask) {
    if (!FloatCpu(*mask) || mask->requires_grad() || mask->dim() > 4) return c10::nullopt;
    std::vector<int64_t> full{B, H, Lq, Lk};
    auto ms = mask->sizes();
    for (size_t i = 0; i < ms.size(); i++) {
      int64_t want = full[full.size() - ms.size() + i];
      if (ms[i] != 1 && ms[i] != want) return c10::nullopt;  // the composite reports the broadcast error
    }
    m = *mask;
  }
  return AttentionFn::apply(q, k, v, m, p, train).permute({0, 2, 1, 3});
}

#else   // no x86-64 AVX2 kernels on this architecture: the composite everywhere

c10::optional<at::Tensor> FusedAttention(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const c10::optional<at::Tensor>&, double, bool) {
  return c10::nullopt;
}

#endif

}  // namespace flm
