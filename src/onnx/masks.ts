// The attention masks and reconstructor ids of src/objectives (stream-masks.ts, flm-batch.ts) as ONNX
// nodes, computed in the graph from the attention mask [B, L] so that the sequence axis stays dynamic.
// Same rules, same values (0 = attend, exactly -10000 = blocked), checked against the libtorch masks
// by the exactness tests through the graphs that use them.
import { MASK_NEG } from '../objectives/stream-masks.js';
import type { OnnxGraph } from './graph.js';

export interface SequenceAxes {
  /** 0..L-1 [L] int64 */
  ar: string;
  /** L, a scalar int64 */
  length: string;
}

/** 0..L-1 for the sequence axis (axis 1) of `mask` [B, L]. */
export function sequenceAxes(g: OnnxGraph, mask: string): SequenceAxes {
  const length = g.op('Gather', [g.op('Shape', [mask], {}, 'mask/shape'), g.constI(1)], { axis: { i: 0 } }, 'mask/L');
  const ar = g.op('Range', [g.constI(0), length, g.constI(1)], {}, 'mask/arange');
  return { ar, length };
}

const unsqueeze = (g: OnnxGraph, x: string, axes: number[], hint: string): string => g.op('Unsqueeze', [x, g.constI(axes)], {}, hint);

/** textMasks != 0: [B, L] bool */
function realTokens(g: OnnxGraph, mask: string): string {
  return g.op('Not', [g.op('Equal', [mask, g.constI(0)], {}, 'mask/isPad')], {}, 'mask/real');
}

/** forwardMask: row 0 sees every real token, a row q >= 1 the real tokens 1..q. [B, 1, L, L] bool. */
export function forwardAllowed(g: OnnxGraph, mask: string, ax: SequenceAxes): string {
  const q = unsqueeze(g, ax.ar, [1], 'fwd/q'); // [L, 1]
  const k = unsqueeze(g, ax.ar, [0], 'fwd/k'); // [1, L]
  const causal = g.op('And', [g.op('LessOrEqual', [k, q], {}, 'fwd/k<=q'), g.op('GreaterOrEqual', [k, g.constI(1)], {}, 'fwd/k>=1')], {}, 'fwd/causal');
  const pattern = g.op('Or', [g.op('Equal', [q, g.constI(0)], {}, 'fwd/q=0'), causal], {}, 'fwd/pattern'); // [L, L]
  const real = unsqueeze(g, realTokens(g, mask), [1, 2], 'fwd/realKeys'); // [B, 1, 1, L]
  return g.op('And', [pattern, real], {}, 'fwd/allowed'); // [B, 1, L, L]
}

/** reverseMask: inside the non-pad area the transpose of the forward mask, elsewhere the forward mask. */
export function reverseAllowed(g: OnnxGraph, mask: string, fwd: string, ax: SequenceAxes): string {
  const notFirst = g.op('GreaterOrEqual', [ax.ar, g.constI(1)], {}, 'rev/notFirst'); // [L]
  const r = g.op('And', [realTokens(g, mask), unsqueeze(g, notFirst, [0], 'rev/notFirstRow')], {}, 'rev/r'); // [B, L]
  const area = unsqueeze(g, g.op('And', [unsqueeze(g, r, [2], 'rev/rq'), unsqueeze(g, r, [1], 'rev/rk')], {}, 'rev/area3'), [1], 'rev/area'); // [B, 1, L, L]
  const t = g.op('Transpose', [fwd], { perm: { ints: [0, 1, 3, 2] } }, 'rev/fwdT');
  // where(area, fwd^T, fwd) on booleans (onnxruntime has no boolean Where)
  const inside = g.op('And', [area, t], {}, 'rev/inside');
  const outside = g.op('And', [g.op('Not', [area], {}, 'rev/notArea'), fwd], {}, 'rev/outside');
  return g.op('Or', [inside, outside], {}, 'rev/allowed'); // [B, 1, L, L]
}

/** biMask (no span corruption): cat(fwd, rev) with each row q >= 1's own columns q and L+q blocked. [B, 1, L, 2L]. */
export function biAllowed(g: OnnxGraph, fwd: string, rev: string, ax: SequenceAxes): string {
  const q = unsqueeze(g, ax.ar, [1], 'bi/q'); // [L, 1]
  const twoL = g.op('Mul', [ax.length, g.constI(2)], {}, 'bi/2L');
  const col = unsqueeze(g, g.op('Range', [g.constI(0), twoL, g.constI(1)], {}, 'bi/cols'), [0], 'bi/col'); // [1, 2L]
  const own = g.op('And', [
    g.op('Or', [g.op('Equal', [col, q], {}, 'bi/c=q'), g.op('Equal', [col, g.op('Add', [q, ax.length], {}, 'bi/q+L')], {}, 'bi/c=q+L')], {}, 'bi/ownCols'),
    g.op('GreaterOrEqual', [q, g.constI(1)], {}, 'bi/q>=1'),
  ], {}, 'bi/own'); // [L, 2L]
  const cat = g.op('Concat', [fwd, rev], { axis: { i: -1 } }, 'bi/cat'); // [B, 1, L, 2L]
  return g.op('And', [cat, g.op('Not', [own], {}, 'bi/notOwn')], {}, 'bi/allowed');
}

/** toAdditive: 0 where allowed, exactly -10000 where blocked (float32). */
export function additive(g: OnnxGraph, allowed: string, hint: string): string {
  return g.op('Where', [allowed, g.constF(0), g.constF(MASK_NEG)], {}, `${hint}/additive`);
}

/** flmMasks(textMasks) at span corruption rate 0: the additive fwd, rev [B, 1, L, L] and bi [B, 1, L, 2L] masks. */
export function flmMasks(g: OnnxGraph, mask: string, ax: SequenceAxes): { fwd: string; rev: string; bi: string } {
  const fwd = forwardAllowed(g, mask, ax);
  const rev = reverseAllowed(g, mask, fwd, ax);
  const bi = biAllowed(g, fwd, rev, ax);
  return { fwd: additive(g, fwd, 'fwd'), rev: additive(g, rev, 'rev'), bi: additive(g, bi, 'bi') };
}

/**
 * fusionIds: textMasks * <mask>, with column 0 := ids[:, 0] and column n-1 := ids[:, n-1] (n real
 * tokens; (n-1) mod L as Python's index -1 for an empty row). [B, L] int64.
 */
export function fusionIds(g: OnnxGraph, ids: string, mask: string, maskId: number, ax: SequenceAxes): string {
  const n = g.op('ReduceSum', [g.op('Cast', [realTokens(g, mask)], { to: { i: 7 } }, 'fusion/realI'), g.constI([1])], { keepdims: { i: 1 } }, 'fusion/n'); // [B, 1]
  const last = g.op('Mod', [g.op('Sub', [n, g.constI(1)], {}, 'fusion/n-1'), ax.length], { fmod: { i: 0 } }, 'fusion/last'); // [B, 1]
  const col = unsqueeze(g, ax.ar, [0], 'fusion/col'); // [1, L]
  const keep = g.op('Or', [g.op('Equal', [col, g.constI(0)], {}, 'fusion/c=0'), g.op('Equal', [col, last], {}, 'fusion/c=last')], {}, 'fusion/keep'); // [B, L]
  const masked = g.op('Mul', [mask, g.constI(maskId)], {}, 'fusion/masked');
  return g.op('Where', [keep, ids, masked], {}, 'fusion/ids');
}
