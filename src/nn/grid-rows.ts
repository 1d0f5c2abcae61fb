// Some rows of a [B, L, ...] token grid, as (caption, position) pairs. Row-wise layers (Linear,
// LayerNorm, GELU, the query side of an attention) can then compute those rows only: the FLM
// reconstructor, whose query rows never attend to each other, runs for the positions that are scored.
//
// Both directions are row copies by index_select (a parallel memcpy per row, and a row-wise index_add
// backward): libtorch's advanced indexing / index_put work element by element and cost several times more.
import { F, Tensor, arange, full, tidy, zeros } from '../tensor/index.js';

export class GridRows {
  /** [N] int64: each row's cell in the flattened grid, caption * L + position */
  readonly cell: Tensor;
  /** [B*L] int64: for every cell, its row, or N (the zero row appended by scatter) */
  readonly #source: Tensor;
  /** index [N, 2] int64 of (caption, position) pairs in a [B, L] grid */
  constructor(index: Tensor, readonly B: number, readonly L: number) {
    if (index.shape.length !== 2 || index.shape[1] !== 2) throw new RangeError(`GridRows: index must have shape [N, 2], got [${index.shape.join(', ')}]`);
    this.cell = tidy(() => index.select(1, 0).mul(L).add(index.select(1, 1)));
    const n = this.cell.size(0);
    this.#source = tidy(() => full([B * L], n, { dtype: 'int64', device: index.device }).indexPut([this.cell], arange(n, undefined, 1, { dtype: 'int64', device: index.device })));
  }
  get count(): number {
    return this.cell.size(0);
  }
  /** x [B, L, ...] -> its rows [N, ...] */
  gather(x: Tensor): Tensor {
    return x.reshape(this.B * this.L, ...x.shape.slice(2)).indexSelect(0, this.cell);
  }
  /** rows [N, ...] -> [B, L, ...] with zeros at the other positions */
  scatter(rows: Tensor): Tensor {
    const tail = rows.shape.slice(1);
    const zero = zeros([1, ...tail], { dtype: rows.dtype, device: rows.device });
    return F.cat([rows, zero], 0).indexSelect(0, this.#source).view(this.B, this.L, ...tail);
  }
}
