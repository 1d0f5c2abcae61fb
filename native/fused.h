// Fused CPU kernels (attention.cc, quick_gelu.cc): ops whose ATen composites make several passes over
// memory or many small calls, each one autograd node with a hand-written backward. A process started with
// FLM_FUSED_KERNELS=0 keeps the ATen composites (for checking the kernels against them and for benchmarks).
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Optional.h>

namespace flm {

// true unless the process started with FLM_FUSED_KERNELS=0 or the CPU lacks AVX2 and FMA (the kernels'
// instruction set); read once
bool FusedKernelsUsable();

// The fused attention of q, k, v [B, h, L, d] (float32, CPU, unit stride in d) under an additive float32
// mask broadcastable to [B, h, Lq, Lk], with attention-probability dropout p in training. nullopt when
// the fused kernel does not apply (other dtypes or devices, another rank, k and v not of q's batch, heads
// and head size, a stride other than 1 along d, an empty dimension, a mask that needs a gradient, p = 1,
// autocast, no x86-64 AVX2/FMA, or a process started with FLM_FUSED_KERNELS=0): the caller then runs the
// ATen composite.
c10::optional<at::Tensor> FusedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                         const c10::optional<at::Tensor>& mask, double p, bool train);

// x * sigmoid(1.702 x): fused for contiguous float32 CPU tensors, the ATen composite otherwise.
at::Tensor FusedQuickGelu(const at::Tensor& x);

}  // namespace flm
