// Some rows of a [B, L, ...] token grid, as (caption, position) pairs. Row-wise layers (Linear,
// LayerNorm, GELU, the query side of an attention) can then compute those rows only: the FLM
// reconstructor, whose query rows never attend to each other, runs for the positions that are scored.
import { Tensor, zeros } from '../tensor/index.js';

export class GridRows {
  readonly batch: Tensor; // [N] int64
  readonly pos: Tensor; // [N] int64
  /** index [N, 2] int64 of (caption, position) pairs in a [B, L] grid */
  constructor(index: Tensor, readonly B: number, readonly L: number) {
    if (index.shape.length !== 2 || index.shape[1] !== 2) throw new RangeError(`GridRows: index must have shape [N, 2], got [${index.shape.join(', ')}]`);
    this.batch = index.select(1, 0);
    this.pos = index.select(1, 1);
  }
  get count(): number {
    return this.batch.size(0);
  }
  /** x [B, L, ...] -> its rows [N, ...] */
  gather(x: Tensor): Tensor {
    return x.index(this.batch, this.pos);
  }
  /** rows [N, ...] -> [B, L, ...] with zeros at the other positions */
  scatter(rows: Tensor): Tensor {
    const grid = zeros([this.B, this.L, ...rows.shape.slice(1)], { dtype: rows.dtype, device: rows.device });
    return grid.indexPut([this.batch, this.pos], rows);
  }
}
