// Fused scaled dot-product attention on the CPU (attention.cc): the forward and backward of
// softmax(q k^T * scale + mask) v with BERT's arithmetic, as one autograd node.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Optional.h>

namespace flm {

// The fused attention of q, k, v [B, h, L, d] (float32, CPU, unit stride in d) under an additive float32
// mask broadcastable to [B, h, Lq, Lk], with attention-probability dropout p in training. nullopt when
// the fused kernel does not apply (other dtypes or devices, another rank, a mask that needs a gradient,
// p = 1, no AVX2/FMA, or FLM_FUSED_ATTENTION=0): the caller then runs the ATen composite.
c10::optional<at::Tensor> FusedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                         const c10::optional<at::Tensor>& mask, double p, bool train);

}  // namespace flm
