// The CLIP visual tower as FLM/METER use it (TencentARC/FLM flm/modules/clip_model.py; spec B.1):
// conv1 patch embedding (no bias) -> prepend class_embedding -> + positional_embedding -> ln_pre ->
// pre-LN residual blocks (packed MHA, QuickGELU MLP) -> ln_post over ALL tokens, no projection.
// `num_resblocks` is the number of blocks built and run (the official builder makes `layers - 1`).
// `conv_stem` (not in CLIP) puts 3x3 stride-2 convolutions + GELU before conv1 (`vit_model.visual.conv_stem.N.*`),
// and conv1 then overlaps its neighbours (kernel stride + 1, padding 1).
// State-dict names: vit_model.visual.*, plus the unused text-side vit_model.positional_embedding and
// vit_model.ln_final, kept so official checkpoints load key for key.
import { F, Tensor, empty, noGrad } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { Conv2d, LayerNorm, ModuleList } from '../nn/layers.js';
import { MultiheadAttention, QuickGELUMLP } from '../nn/attention.js';
import { normal_ } from '../nn/init.js';
import type { VitArch } from './config.js';

/** CLIP ResidualAttentionBlock: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
export class ResidualAttentionBlock extends Module {
  readonly attn: MultiheadAttention;
  readonly ln_1: LayerNorm;
  readonly mlp: QuickGELUMLP;
  readonly ln_2: LayerNorm;
  constructor(width: number, heads: number, mlpWidth: number, eps: number) {
    super();
    this.attn = this.child('attn', new MultiheadAttention(width, heads));
    this.ln_1 = this.child('ln_1', new LayerNorm(width, eps));
    this.mlp = this.child('mlp', new QuickGELUMLP(width, mlpWidth));
    this.ln_2 = this.child('ln_2', new LayerNorm(width, eps));
  }
  forward(x: Tensor): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x))); // [B, N, W]
    return h.add(this.mlp.forward(this.ln_2.forward(h))); // [B, N, W]
  }
}

export class VisionTransformerBlocks extends Module {
  readonly resblocks: ModuleList<ResidualAttentionBlock>;
  constructor(a: VitArch) {
    super();
    const blocks = Array.from({ length: a.num_resblocks }, () => new ResidualAttentionBlock(a.width, a.heads, a.mlp_width, a.layer_norm_eps));
    this.resblocks = this.child('resblocks', new ModuleList(blocks));
  }
}

/**
 * The geometry of conv1, the patch projection. CLIP's: kernel = stride = patch_size. After a conv stem of
 * k stride-2 convolutions it strides patch_size / 2^k and, unless that is 1, overlaps its neighbours by a
 * pixel on each side as the stem's convolutions do (kernel stride + 1, padding 1: the same G x G grid); a
 * tower probe learned colour-shape pairs 3.8x better so than with a non-overlapping 2x2 projection
 * (bench/tower.ts, pair F1 0.64 against 0.17).
 */
export function patchProjection(arch: VitArch): { kernel: number; stride: number; padding: number } {
  const k = (arch.conv_stem ?? []).length;
  const stride = arch.patch_size / 2 ** k;
  if (!Number.isInteger(stride)) throw new RangeError(`VisualTransformer: patch_size ${arch.patch_size} is not divisible by 2^${k} (conv_stem)`);
  return k > 0 && stride > 1 ? { kernel: stride + 1, stride, padding: 1 } : { kernel: stride, stride, padding: 0 };
}

export class VisualTransformer extends Module {
  readonly class_embedding: Tensor;
  readonly positional_embedding: Tensor;
  /** the convolutional stem (vit_arch.conv_stem), or null for CLIP's plain patch embedding */
  readonly conv_stem: ModuleList<Conv2d> | null;
  readonly conv1: Conv2d;
  readonly ln_pre: LayerNorm;
  readonly transformer: VisionTransformerBlocks;
  readonly ln_post: LayerNorm;
  readonly grid: number;
  constructor(readonly arch: VitArch) {
    super();
    const w = arch.width;
    this.grid = arch.image_size / arch.patch_size;
    if (!Number.isInteger(this.grid)) throw new RangeError(`VisualTransformer: image_size ${arch.image_size} is not a multiple of patch_size ${arch.patch_size}`);
    // CLIP's init: scale = width^-0.5 for the class and positional embeddings
    this.class_embedding = this.param('class_embedding', normal_(empty([w]), 0, w ** -0.5));
    this.positional_embedding = this.param('positional_embedding', normal_(empty([this.grid * this.grid + 1, w]), 0, w ** -0.5));
    const stem = arch.conv_stem ?? [];
    const inputs = [3, ...stem];
    this.conv_stem = stem.length ? this.child('conv_stem', new ModuleList(stem.map((ch, i) => new Conv2d(inputs[i]!, ch, 3, { stride: 2, padding: 1 })))) : null;
    const proj = patchProjection(arch);
    this.conv1 = this.child('conv1', new Conv2d(inputs[stem.length]!, w, proj.kernel, { stride: proj.stride, padding: proj.padding, bias: false }));
    this.ln_pre = this.child('ln_pre', new LayerNorm(w, arch.layer_norm_eps));
    this.transformer = this.child('transformer', new VisionTransformerBlocks(arch));
    this.ln_post = this.child('ln_post', new LayerNorm(w, arch.layer_norm_eps));
  }

  /** image [B, 3, S, S] -> tokens [B, 1 + (S/P)^2, W] (class token first, after ln_post). */
  forward(image: Tensor): Tensor {
    const [B, C, S] = image.shape as [number, number, number];
    if (C !== 3 || S !== this.arch.image_size || image.shape[3] !== S) {
      throw new RangeError(`VisualTransformer: expected an image [B, 3, ${this.arch.image_size}, ${this.arch.image_size}], got [${image.shape}]`);
    }
    const W = this.arch.width;
    let pixels = image; // [B, C, S', S']
    for (const conv of this.conv_stem?.items ?? []) pixels = conv.forward(pixels).gelu(); // [B, C_i, S'/2, S'/2]
    const patches = this.conv1.forward(pixels); // [B, W, G, G]
    const x0 = patches.reshape(B, W, -1).permute(0, 2, 1); // [B, G*G, W]
    const cls = this.class_embedding.view(1, 1, W).expand(B, 1, W); // [B, 1, W]
    let x = F.cat([cls, x0], 1).add(this.positional_embedding); // [B, 1+G*G, W]
    x = this.ln_pre.forward(x);
    for (const blk of this.transformer.resblocks.items) x = blk.forward(x); // [B, N, W]
    return this.ln_post.forward(x); // [B, N, W]
  }
}

/** The `vit_model` wrapper: only `visual` runs; the text-side leftovers are parameters nobody reads. */
export class CLIPVisionModel extends Module {
  readonly positional_embedding: Tensor;
  readonly visual: VisualTransformer;
  readonly ln_final: LayerNorm;
  constructor(readonly arch: VitArch) {
    super();
    this.positional_embedding = this.param('positional_embedding', normal_(empty([arch.clip_context_length, arch.clip_text_width]), 0, 0.01));
    this.visual = this.child('visual', new VisualTransformer(arch));
    this.ln_final = this.child('ln_final', new LayerNorm(arch.clip_text_width, arch.layer_norm_eps));
  }
  forward(image: Tensor): Tensor {
    return this.visual.forward(image); // [B, N_img, W]
  }
}

/**
 * METER/FLM `adapt_position_encoding`: resize a CLIP positional table [1 + G0^2, W] to [1 + G1^2, W].
 * Row 0 (class position) is kept; rows 1.. are laid out as a G0 x G0 grid and resized with bicubic
 * interpolation (A = -0.75, align_corners = false). Same size returns a copy of the input.
 */
export function resizePositionalEmbedding(pe: Tensor, newGrid: number): Tensor {
  const [N, W] = pe.shape as [number, number];
  const g0 = Math.round(Math.sqrt(N - 1));
  if (g0 * g0 !== N - 1) throw new RangeError(`resizePositionalEmbedding: ${N - 1} patch positions do not form a square grid`);
  if (!Number.isInteger(newGrid) || newGrid < 1) throw new RangeError(`resizePositionalEmbedding: bad grid ${newGrid}`);
  return noGrad(() => {
    if (g0 === newGrid) return pe.clone();
    const cls = pe.slice(0, 0, 1); // [1, W]
    const grid = pe.slice(0, 1).reshape(1, g0, g0, W).permute(0, 3, 1, 2); // [1, W, G0, G0]
    const resized = F.interpolate(grid.contiguous(), [newGrid, newGrid], 'bicubic', false); // [1, W, G1, G1]
    const rows = resized.permute(0, 2, 3, 1).reshape(newGrid * newGrid, W); // [G1*G1, W]
    return F.cat([cls, rows], 0); // [1 + G1*G1, W]
  });
}
