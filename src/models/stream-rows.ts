// The rows the text streams have to compute. Every pad position of a caption has the same input (the
// pad word, RoBERTa's pad position id, token type 0), and under the official masks the same view (a pad
// query row sees what the causal row of the last real token sees, or every real token), while no row
// ever attends to a pad key. So without dropout every pad row of a stream holds the same value at every
// depth, and a stream computes each caption's real tokens and its first pad only (n + 1 rows, not L).
// The full [B, S*L, H] grid is read back by repeating that pad row wherever a later pad stood: what
// reads pad positions (FLM's reconstructor, whose fully blocked rows weigh every pad key under the
// official -10000 convention, and its R2L loss, which scores the first pad) sees exactly the values of
// the padded computation. With dropout the pad rows draw different masks and the whole grid is computed.
import { F, Tensor, arange, tidy } from '../tensor/index.js';
import { GridRows } from '../nn/grid-rows.js';

export class StreamRows {
  /**
   * @param self the computed rows in the [S*B, L] grid of the batched streams (row S*b + s: caption b's
   *   stream s), ordered as that grid is in memory
   * @param cross the same rows, in the same order, in the [B, S*L] grid (caption b: stream 0, 1, ..)
   * @param stream [N] int64: the stream of each row
   * @param full [S*B*L] int64: for every cell of the [S*B, L] grid, the computed row that holds its value
   */
  constructor(readonly self: GridRows, readonly cross: GridRows, readonly stream: Tensor, readonly full: Tensor) {}

  get count(): number {
    return this.self.count;
  }

  /** The computed rows x [N, ...] as the full grid [B, S*L, ...] (pads after the first repeat it). */
  expand(x: Tensor): Tensor {
    const { B, L } = this.cross;
    return x.indexSelect(0, this.full).view(B, L, ...x.shape.slice(1));
  }
}

/**
 * The rows to compute for captions textIds / textMasks [B, L] under the streams' additive self-attention
 * masks [S*B | 1, 1, L | 1, L] (S streams per caption, interleaved), or null when the argument above does
 * not hold for this batch: real tokens must come first (textMasks 1 then 0) with pad ids after them, every
 * mask value must be plainly visible (>= -100) or plainly blocked (<= -5000; the official values are 0 and
 * -10000) with one mask for all heads, no row may see a pad key, every pad row must see what the first pad
 * row sees, and every computed row must see some key (a fully blocked row would weigh the pad keys).
 */
export function streamRows(textIds: Tensor, textMasks: Tensor, padId: number, masks: Tensor, streams: number): StreamRows | null {
  const [B, L] = textIds.shape as [number, number];
  const S = streams;
  const [mb, mh, , mk] = masks.shape;
  if (B === 0 || masks.shape.length !== 4 || (mb !== 1 && mb !== S * B) || mh !== 1 || mk !== L) return null;
  const t = tidy(() => {
    const real = textMasks.ne(0); // [B, L]
    const n = real.sum(1, { dtype: 'int64' }); // [B]
    const pos = arange(L, undefined, 1, { dtype: 'int64', device: textIds.device }); // [L]
    const nRow = n.repeatInterleave(S); // [S*B]
    const padKey = pos.unsqueeze(0).ge(nRow.unsqueeze(1)); // [S*B, L]
    const m = masks.select(1, 0).expand(S * B, L, L); // [S*B, L, L]
    const visible = m.ge(-100);
    const twoLevel = visible.logicalOr(m.le(-5000)).all(); // blocked keys then weigh exactly 0 beside a visible one
    const firstPadOr = pos.unsqueeze(0).minimum(nRow.unsqueeze(1)); // [S*B, L]: q, or n for a later pad
    const ok = twoLevel
      .logicalAnd(real.eq(pos.unsqueeze(0).lt(n.unsqueeze(1))).all()) // real tokens first
      .logicalAnd(textIds.eq(padId).logicalOr(real).all()) // pad ids after them
      .logicalAnd(visible.logicalAnd(padKey.unsqueeze(1)).any().logicalNot()) // no pad key is seen
      .logicalAnd(m.eq(m.gather(1, firstPadOr.unsqueeze(2).expand(S * B, L, L))).all()) // pad rows see what the first sees
      .logicalAnd(visible.any(2).logicalOr(pos.unsqueeze(0).gt(nRow.unsqueeze(1))).all()); // computed rows see a key
    if (!ok.item()) return null;

    const computed = pos.unsqueeze(0).le(nRow.unsqueeze(1)); // [S*B, L]: the real tokens and the first pad
    const cells = computed.nonzero(); // [N, 2] (stream row, position)
    const row = cells.select(1, 0);
    const at = cells.select(1, 1);
    const stream = row.remainder(S); // [N]
    const crossIndex = F.stack([row.floorDivide(S), stream.mul(L).add(at)], 1); // [N, 2] in the [B, S*L] grid
    const count = nRow.add(1).clamp(null, L); // [S*B] rows computed per stream row
    const offset = count.cumsum(0).sub(count); // [S*B]
    const full = offset.unsqueeze(1).add(firstPadOr).flatten(); // [S*B*L]
    return { cells, crossIndex, stream, full };
  });
  return t && new StreamRows(new GridRows(t.cells, S * B, L), new GridRows(t.crossIndex, B, S * L), t.stream, t.full);
}
