// DistributedDataParallel: data-parallel training of a Module over a c10d process group, as PyTorch's
// torch.nn.parallel.DistributedDataParallel does it:
//   - at construction, every rank checks that it holds the same model and takes rank 0's parameters
//     and buffers (broadcast);
//   - each step, a native Reducer (native/ops_dist_reducer.cc) has autograd hooks on the parameters' gradient
//     accumulators copy every gradient into a flat bucket (25 MB, the first one 1 MB, parameters in
//     reverse order) and all-reduce a bucket asynchronously as soon as it is full, overlapping the
//     communication with the rest of backward; finalize() waits and writes the averaged gradients back.
//   - noSync(fn) runs backward passes that only accumulate locally (gradient accumulation); the next
//     synchronised backward reduces the accumulated gradients.
//
//   const ddp = new DistributedDataParallel(model);
//   for (const batch of loader) {
//     opt.zeroGrad();
//     ddp.backward(loss(model, batch));  // prepare -> backward -> finalize
//     opt.step();
//   }
import { createHash } from 'node:crypto';
import { native, type DistReducerHandle } from '../native/binding.js';
import type { Module } from '../nn/module.js';
import { elementSize, type Tensor } from '../tensor/index.js';
import { DistError, getProcessGroup, nativeMessage, type ProcessGroup } from './process-group.js';

export interface DDPOptions {
  /** the group to reduce over (default: the default group from initProcessGroup()) */
  pg?: ProcessGroup;
  /** bucket size in MB (torch's bucket_cap_mb, default 25) */
  bucketCapMb?: number;
  /** size of the first bucket in MB (default 1: the first all-reduce starts early in backward) */
  firstBucketMb?: number;
  /**
   * Like torch's find_unused_parameters: an extra all-reduce of a used-map per step so that a
   * parameter no rank produced a gradient for keeps its .grad untouched (null stays null). Without
   * it such a parameter gets a zero (or its locally accumulated) gradient averaged in.
   */
  findUnusedParameters?: boolean;
  /** broadcast rank 0's persistent buffers along with the parameters at construction (default true) */
  broadcastBuffers?: boolean;
  /** bound on each step's gradient synchronisation (default: the group's timeout) */
  timeoutMs?: number;
}

export interface ReducerStats {
  /** number of buckets */
  buckets: number;
  /** buckets whose all-reduce started during backward (overlapped with computation) */
  launchedInBackward: number;
  /** time finalize() spent waiting for communication, in ms */
  waitMs: number;
}

const BROADCAST_CHUNK_BYTES = 256 * 1024 * 1024;

function signature(named: [string, Tensor][]): { count: number; numel: number; hash: string } {
  const h = createHash('sha1');
  let numel = 0;
  for (const [n, t] of named) {
    h.update(`${n}:${t.shape.join('x')}:${t.dtype};`);
    numel += t.numel;
  }
  return { count: named.length, numel, hash: h.digest('hex').slice(0, 12) };
}

export class DistributedDataParallel<M extends Module = Module> {
  readonly module: M;
  readonly pg: ProcessGroup;
  readonly paramNames: string[];
  readonly #params: Tensor[];
  #reducer: DistReducerHandle | null = null;
  #sync = true;
  #prepared = false;
  /** statistics of the last synchronised step */
  lastStats: ReducerStats | null = null;

  constructor(module: M, o: DDPOptions = {}) {
    const pg = o.pg ?? getProcessGroup();
    if (pg === null) throw new DistError('DistributedDataParallel: no process group: call initProcessGroup() first', 'ddp', null);
    this.module = module;
    this.pg = pg;
    const named = module.namedParameters().filter(([, t]) => t.requiresGrad);
    if (named.length === 0) throw new DistError('DistributedDataParallel: the module has no parameters that require grad', 'ddp', pg.rank);
    this.paramNames = named.map(([n]) => n);
    this.#params = named.map(([, t]) => t);
    if (pg.worldSize === 1) return;

    // 1. the same model everywhere
    const sigs = pg.allGatherObject(signature(module.namedParameters()));
    const s0 = JSON.stringify(sigs[0]);
    if (sigs.some((s) => JSON.stringify(s) !== s0)) {
      throw new DistError(
        'DistributedDataParallel: the ranks hold different models: ' +
          sigs.map((s, r) => `rank ${r}: ${s.count} parameters, ${s.numel} elements (${s.hash})`).join('; '),
        'ddp',
        pg.rank,
      );
    }
    // 2. rank 0's parameters (and buffers) everywhere
    const seen = new Set<Tensor>();
    const state: Tensor[] = [];
    const sources = o.broadcastBuffers ?? true ? [...module.stateDict().values()] : module.parameters();
    for (const t of sources) {
      if (!seen.has(t)) {
        seen.add(t);
        state.push(t);
      }
    }
    // in chunks of at most 256 MB, as torch's _sync_module_states (bounds the flat buffer's memory)
    let chunk: Tensor[] = [];
    let bytes = 0;
    const flush = (): void => {
      if (chunk.length) pg.broadcast(chunk, 0, { timeoutMs: o.timeoutMs });
      chunk = [];
      bytes = 0;
    };
    for (const t of state) {
      const b = t.numel * elementSize(t.dtype);
      if (bytes > 0 && bytes + b > BROADCAST_CHUNK_BYTES) flush();
      chunk.push(t);
      bytes += b;
    }
    flush();
    // 3. the reducer and its hooks
    const cap = Math.round((o.bucketCapMb ?? 25) * 1024 * 1024);
    const first = Math.round((o.firstBucketMb ?? 1) * 1024 * 1024);
    try {
      this.#reducer = native.distReducerNew(pg.handle, this.#params.map((t) => t.handle), first, cap, o.findUnusedParameters ?? false, o.timeoutMs ?? null);
    } catch (e) {
      throw new DistError(`DistributedDataParallel: ${nativeMessage(e)}`, 'ddp', pg.rank);
    }
  }

  get worldSize(): number {
    return this.pg.worldSize;
  }
  get rank(): number {
    return this.pg.rank;
  }
  /** The trained parameters in the module's order. */
  parameters(): Tensor[] {
    return this.#params.slice();
  }
  /** Parameter names of each bucket, in the order the buckets are all-reduced. */
  buckets(): string[][] {
    if (this.#reducer === null) return [this.paramNames.slice().reverse()];
    return native.distReducerBuckets(this.#reducer).map((b) => b.map((i) => this.paramNames[i]!));
  }
  /** Whether backward passes currently synchronise (false inside noSync). */
  get syncing(): boolean {
    return this.#sync;
  }

  #call<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof DistError) throw e;
      throw new DistError(`DistributedDataParallel: ${nativeMessage(e)}`, op, this.pg.rank);
    }
  }

  /**
   * Arms the gradient hooks for the next backward pass (a no-op inside noSync or with one process).
   * With findUnusedParameters, pass the loss: parameters it does not depend on are marked ready at
   * once, so their bucket does not wait for finalize().
   */
  prepare(loss?: Tensor): void {
    if (this.#reducer === null || !this.#sync) return;
    const r = this.#reducer;
    this.#call('prepare', () => native.distReducerPrepare(r, loss === undefined ? null : loss.handle));
    this.#prepared = true;
  }

  /**
   * Waits for every bucket's all-reduce and writes the averaged gradients into .grad. Returns null
   * when nothing was synchronised (noSync, one process, or no prepare()).
   */
  finalize(): ReducerStats | null {
    if (this.#reducer === null || !this.#prepared) return null;
    const r = this.#reducer;
    this.#prepared = false;
    this.lastStats = this.#call('finalize', () => native.distReducerFinalize(r));
    return this.lastStats;
  }

  /** loss.backward() wrapped in prepare()/finalize() (just backward inside noSync). */
  backward(loss: Tensor, o: { retainGraph?: boolean } = {}): ReducerStats | null {
    this.prepare(loss);
    // If backward throws, the reducer stays re-armable: the next prepare() drains what was launched.
    loss.backward(undefined, o);
    return this.finalize();
  }

  /**
   * Runs fn with gradient synchronisation off: its backward passes accumulate into .grad locally, and
   * the next synchronised backward all-reduces the accumulated sum (torch's no_sync()).
   */
  noSync<T>(fn: () => T): T {
    const prev = this.#sync;
    this.#sync = false;
    let async = false;
    try {
      const out = fn();
      if (out instanceof Promise) {
        async = true;
        return out.finally(() => {
          this.#sync = prev;
        }) as T;
      }
      return out;
    } finally {
      if (!async) this.#sync = prev;
    }
  }

  /** Removes the hooks; the wrapper cannot synchronise afterwards. Idempotent. */
  release(): void {
    if (this.#reducer !== null) {
      native.distReducerRelease(this.#reducer);
      this.#reducer = null;
    }
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

export { DistributedDataParallel as DDP };
