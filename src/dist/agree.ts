// Small collectives the trainers use so that every rank takes the same branch and logs the same numbers.
import { tensor, tidy, type Tensor } from '../tensor/index.js';
import type { DistributedDataParallel } from './ddp.js';
import type { ProcessGroup } from './process-group.js';

/** True on every rank when the flag is set on any rank (a max all-reduce of 0/1). */
export function anyRank(pg: ProcessGroup, flag: boolean): boolean {
  return tidy(() => {
    const t = tensor([flag ? 1 : 0]);
    pg.allReduce(t, 'max');
    return t.item() > 0;
  });
}

/** The mean of a number over the ranks. */
export function meanOverRanks(pg: ProcessGroup, x: number): number {
  return tidy(() => {
    const t = tensor([x]);
    pg.allReduce(t, 'avg');
    return t.item();
  });
}

/**
 * What a training loop needs for data parallelism (none of it without a group): backward through DDP
 * (gradients of all but the last micro-batch kept local, as `no_sync`), shared skip/stop decisions, and
 * the logged loss averaged over the ranks.
 */
export function dataParallelLoopHooks(pg: ProcessGroup | null, ddp: DistributedDataParallel | null): {
  backward?: (scaled: Tensor, micro: number, accum: number) => void;
  anyRank?: (flag: boolean) => boolean;
  meanOverRanks?: (x: number) => number;
} {
  if (!pg || !ddp) return {};
  return {
    backward: (scaled, k, n) => (k < n - 1 ? ddp.noSync(() => ddp.backward(scaled)) : ddp.backward(scaled)),
    anyRank: (flag) => anyRank(pg, flag),
    meanOverRanks: (x) => meanOverRanks(pg, x),
  };
}
