// Process groups on libtorch's c10d (native/ops_dist_*.cc): rendezvous through a TCPStore hosted by
// rank 0, Gloo on CPU, NCCL for CUDA tensors, with the environment variables torchrun sets
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
//
// Every collective is bounded by a timeout. A failure (a peer that died, a timeout) throws a DistError
// naming the collective and the rank, and leaves the group "broken": every later call throws at once,
// so a rank never hangs on a group that has lost a member.
import { native, type DistGroupHandle, type NativeTensor } from '../native/binding.js';
import { Tensor, cudaAvailable, tensor, tidy, zeros, F } from '../tensor/index.js';
import { wrap } from '../tensor/tensor.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';

/** torch.distributed's default store port. */
export const DEFAULT_MASTER_PORT = 29500;
/** Default bound on rendezvous and on every collective (FLM_DIST_TIMEOUT_MS overrides it). */
export const DEFAULT_TIMEOUT_MS = 300_000;

export class DistError extends Error {
  constructor(message: string, readonly op: string, readonly rank: number | null) {
    super(message);
    this.name = 'DistError';
  }
}

export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
}

function envInt(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new DistError(`${name}=${v} is not a non-negative integer`, 'env', null);
  return n;
}

/**
 * The torchrun-style settings of this process, or null when it was not started by a launcher
 * (no WORLD_SIZE in the environment).
 */
export function distEnv(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  const worldSize = envInt('WORLD_SIZE', env);
  if (worldSize === undefined) return null;
  const rank = envInt('RANK', env) ?? 0;
  const localRank = envInt('LOCAL_RANK', env) ?? rank;
  return {
    rank,
    worldSize,
    localRank,
    localWorldSize: envInt('LOCAL_WORLD_SIZE', env) ?? worldSize,
    masterAddr: env.MASTER_ADDR || '127.0.0.1',
    masterPort: envInt('MASTER_PORT', env) ?? DEFAULT_MASTER_PORT,
  };
}

/** Which c10d backends the loaded addon carries. */
export function distAvailable(): { gloo: boolean; nccl: boolean } {
  if (typeof native.distAvailable !== 'function') return { gloo: false, nccl: false };
  return native.distAvailable();
}

function requireNative(): void {
  if (typeof native.distInitGroup !== 'function') {
    throw new DistError(
      'this build of the flm addon has no distributed support (native/ops_dist_*.cc are not compiled in): ' +
        'rebuild it with `npm run build:native`',
      'init',
      null,
    );
  }
}

export interface InitOptions {
  rank?: number;
  worldSize?: number;
  localRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** bound on the rendezvous and on every collective, in ms (default FLM_DIST_TIMEOUT_MS or 300000) */
  timeoutMs?: number;
  /** 'auto' (default): NCCL when `device` is CUDA and the addon has NCCL, Gloo otherwise */
  backend?: Backend | 'auto';
  /** where the training tensors live; only used to choose the backend */
  device?: string;
  /** Gloo network interface(s) (default GLOO_SOCKET_IFNAME, comma separated, as in PyTorch) */
  ifname?: string | string[];
  /** Gloo: bind to the address this host name resolves to (default: loopback for a loopback master) */
  hostname?: string;
  /** Gloo worker threads (default 2 per interface) */
  threads?: number;
  /**
   * The shared secret every rank presents to the rendezvous store (default FLM_STORE_TOKEN). Required
   * when the master address is not a loopback address; see docs/distributed.md for what it protects.
   */
  storeToken?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/i;

function nativeCall<T>(op: string, rank: number | null, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DistError) throw e;
    throw new DistError(nativeMessage(e), op, rank);
  }
}

/** A native error's message without the binding's "distXxx: " prefix. */
export function nativeMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/^dist[A-Za-z]+: /, '');
}

let defaultGroup: ProcessGroup | null = null;

/** One c10d process group: this rank's view of the collective. */
export class ProcessGroup {
  #h: DistGroupHandle | null;
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly backend: Backend;
  readonly timeoutMs: number;

  /** Internal: use initProcessGroup(). */
  constructor(h: DistGroupHandle, rank: number, worldSize: number, localRank: number, backend: Backend, timeoutMs: number) {
    this.#h = h;
    this.rank = rank;
    this.worldSize = worldSize;
    this.localRank = localRank;
    this.backend = backend;
    this.timeoutMs = timeoutMs;
  }

  /** Internal: the native handle. */
  get handle(): DistGroupHandle {
    if (this.#h === null) throw new DistError('the process group was destroyed', 'use', this.rank);
    return this.#h;
  }
  get isMain(): boolean {
    return this.rank === 0;
  }
  get isDestroyed(): boolean {
    return this.#h === null;
  }
  /** Whether an earlier failure made the group unusable, and why. */
  get broken(): { broken: boolean; why: string } {
    if (this.#h === null) return { broken: false, why: '' };
    const i = native.distGroupInfo(this.#h);
    return { broken: i.broken ?? false, why: i.why ?? '' };
  }

  #call<T>(op: string, fn: () => T): T {
    return nativeCall(op, this.rank, fn);
  }

  /** In place: every tensor becomes the reduction over all ranks ('avg' = sum / worldSize). */
  allReduce(ts: Tensor | readonly Tensor[], op: ReduceOp = 'sum', o: { timeoutMs?: number } = {}): void {
    const list = Array.isArray(ts) ? (ts as Tensor[]) : [ts as Tensor];
    if (list.length === 0) return;
    this.#call('allReduce', () => native.distAllReduce(this.handle, list.map((t) => t.handle), op, o.timeoutMs ?? null));
  }

  /** In place: every tensor takes root's values. */
  broadcast(ts: Tensor | readonly Tensor[], root = 0, o: { timeoutMs?: number } = {}): void {
    const list = Array.isArray(ts) ? (ts as Tensor[]) : [ts as Tensor];
    if (list.length === 0) return;
    this.#call('broadcast', () => native.distBroadcast(this.handle, list.map((t) => t.handle), root, o.timeoutMs ?? null));
  }

  /** One tensor per rank (rank order); every rank must pass a tensor of the same shape and dtype. */
  allGather(t: Tensor, o: { timeoutMs?: number } = {}): Tensor[] {
    const hs: NativeTensor[] = this.#call('allGather', () => native.distAllGather(this.handle, t.handle, o.timeoutMs ?? null));
    return hs.map((h) => wrap(h));
  }

  /**
   * Every rank's tensor concatenated along `dim` in rank order; the sizes along `dim` may differ between
   * ranks (the last shard of an evaluation set), the other dimensions must agree. The result has no
   * autograd history (evaluation: retrieval scores, features for contrastive metrics).
   */
  allGatherCat(t: Tensor, dim = 0, o: { timeoutMs?: number } = {}): Tensor {
    return tidy(() => {
      const nd = t.ndim;
      const d = dim < 0 ? dim + nd : dim;
      if (d < 0 || d >= nd) throw new DistError(`allGatherCat: dim ${dim} out of range for a ${nd}-D tensor`, 'allGatherCat', this.rank);
      const sizes = this.allGather(tensor([t.shape[d]!], { dtype: 'int64', device: t.device }), o).map((s) => s.item());
      const max = Math.max(...sizes);
      let x = t.detach();
      if (x.shape[d]! < max) {
        const padShape = x.shape;
        padShape[d] = max - x.shape[d]!;
        x = F.cat([x, zeros(padShape, { dtype: x.dtype, device: x.device })], d);
      }
      const parts = this.allGather(x.contiguous(), o);
      return F.cat(parts.map((p, r) => p.narrow(d, 0, sizes[r]!)), d);
    });
  }

  /** Every rank's JSON-serialisable value, in rank order (small things: metrics, step counters, checks). */
  allGatherObject<T>(value: T, o: { timeoutMs?: number } = {}): T[] {
    const bytes = new TextEncoder().encode(JSON.stringify(value ?? null));
    const parts: Uint8Array[] = tidy(() => {
      const all = this.allGatherCat(tensor(bytes, { dtype: 'uint8', shape: [bytes.length] }), 0, o);
      const sizes = this.allGather(tensor([bytes.length], { dtype: 'int64' }), o).map((s) => s.item());
      const flat = all.toTypedArray() as Uint8Array;
      const out: Uint8Array[] = [];
      let off = 0;
      for (const n of sizes) {
        out.push(flat.slice(off, off + n));
        off += n;
      }
      return out;
    });
    const dec = new TextDecoder();
    return parts.map((p) => JSON.parse(dec.decode(p)) as T);
  }

  /** root's JSON-serialisable value on every rank. */
  broadcastObject<T>(value: T, root = 0, o: { timeoutMs?: number } = {}): T {
    return this.allGatherObject(this.rank === root ? value : null, o)[root] as T;
  }

  /**
   * Waits until every rank has arrived. `monitored` (Gloo) reports which ranks did not arrive within
   * the timeout instead of a bare timeout.
   */
  barrier(o: { timeoutMs?: number; monitored?: boolean } = {}): void {
    this.#call('barrier', () => native.distBarrier(this.handle, o.timeoutMs ?? null, o.monitored ?? false));
  }

  /** Key-value access to the rendezvous store (a namespace of its own). */
  storeSet(key: string, value: string): void {
    this.#call('storeSet', () => native.distStoreSet(this.handle, key, value));
  }
  storeGet(key: string): string {
    return this.#call('storeGet', () => native.distStoreGet(this.handle, key));
  }
  storeAdd(key: string, n: number): number {
    return this.#call('storeAdd', () => native.distStoreAdd(this.handle, key, n));
  }

  /** Releases the group (and, on rank 0, the store). Idempotent. */
  destroy(): void {
    if (this.#h !== null) {
      const h = this.#h;
      this.#h = null;
      native.distDestroy(h);
    }
    if (defaultGroup === this) defaultGroup = null;
  }
  [Symbol.dispose](): void {
    this.destroy();
  }
}

function resolveTimeout(o: InitOptions): number {
  const env = process.env.FLM_DIST_TIMEOUT_MS;
  const t = o.timeoutMs ?? (env !== undefined && env !== '' ? Number(env) : DEFAULT_TIMEOUT_MS);
  if (!Number.isFinite(t) || t <= 0) throw new DistError(`timeoutMs must be a positive number, got ${String(t)}`, 'init', null);
  return Math.round(t);
}

function resolveBackend(o: InitOptions): Backend {
  const want = o.backend ?? ((process.env.FLM_DIST_BACKEND as Backend | 'auto' | undefined) || 'auto');
  if (want === 'gloo' || want === 'nccl') return want;
  if (want !== 'auto') throw new DistError(`unknown backend '${String(want)}' (expected gloo, nccl or auto)`, 'init', null);
  const onCuda = (o.device ?? '').startsWith('cuda');
  return onCuda && distAvailable().nccl && cudaAvailable() ? 'nccl' : 'gloo';
}

/**
 * Joins the process group described by `o`, falling back to the torchrun environment variables
 * (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and then to a single process. Blocks until
 * every rank has joined or the timeout passes. The group becomes the default group.
 */
export function initProcessGroup(o: InitOptions = {}): ProcessGroup {
  requireNative();
  if (defaultGroup !== null) throw new DistError('a default process group already exists: destroy() it first', 'init', defaultGroup.rank);
  const env = distEnv();
  const rank = o.rank ?? env?.rank ?? 0;
  const worldSize = o.worldSize ?? env?.worldSize ?? 1;
  const localRank = o.localRank ?? env?.localRank ?? rank;
  const masterAddr = o.masterAddr ?? env?.masterAddr ?? '127.0.0.1';
  const masterPort = o.masterPort ?? env?.masterPort ?? DEFAULT_MASTER_PORT;
  const timeoutMs = resolveTimeout(o);
  const backend = resolveBackend(o);
  const ifEnv = process.env.GLOO_SOCKET_IFNAME;
  const ifnames = (o.ifname === undefined ? (ifEnv ?? '').split(',') : Array.isArray(o.ifname) ? o.ifname : [o.ifname])
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const hostname = o.hostname ?? (ifnames.length === 0 && LOOPBACK.test(masterAddr) ? '127.0.0.1' : '');
  const storeToken = o.storeToken ?? process.env.FLM_STORE_TOKEN ?? '';
  if (worldSize > 1 && storeToken === '' && !LOOPBACK.test(masterAddr))
    throw new DistError(
      `the master address ${masterAddr} is not a loopback address: give every rank the same store token ` +
        `(FLM_STORE_TOKEN or --store-token); without it anyone who can reach port ${masterPort} could join the rendezvous`,
      'init',
      rank,
    );
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new DistError(`worldSize must be a positive integer, got ${worldSize}`, 'init', null);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new DistError(`rank must be in [0, ${worldSize}), got ${rank}`, 'init', null);
  const h = nativeCall('init', rank, () =>
    native.distInitGroup(backend, rank, worldSize, masterAddr, masterPort, timeoutMs, ifnames, hostname, o.threads ?? 0, storeToken),
  );
  defaultGroup = new ProcessGroup(h, rank, worldSize, localRank, backend, timeoutMs);
  return defaultGroup;
}

/** The default group, or null before initProcessGroup(). */
export function getProcessGroup(): ProcessGroup | null {
  return defaultGroup;
}

function group(op: string): ProcessGroup {
  if (defaultGroup === null) throw new DistError(`${op}: no process group: call initProcessGroup() first`, op, null);
  return defaultGroup;
}

/** This process's rank: the default group's, else RANK from the environment, else 0. */
export function getRank(): number {
  return defaultGroup?.rank ?? distEnv()?.rank ?? 0;
}
export function getWorldSize(): number {
  return defaultGroup?.worldSize ?? distEnv()?.worldSize ?? 1;
}
/** Rank 0 (or a process that is not distributed): the one that writes logs and checkpoints. */
export function isMainProcess(): boolean {
  return getRank() === 0;
}
/** More than one process takes part (by the group, or by the launcher's environment). */
export function isDistributed(): boolean {
  return getWorldSize() > 1;
}

/** The device of this rank: cuda:<LOCAL_RANK> with an NCCL group (or when asked for CUDA), else cpu. */
export function localDevice(want: 'auto' | 'cpu' | 'cuda' = 'auto'): string {
  if (want === 'cpu') return 'cpu';
  const lr = defaultGroup?.localRank ?? distEnv()?.localRank ?? 0;
  if (want === 'cuda' || (defaultGroup?.backend === 'nccl' && cudaAvailable())) return `cuda:${lr}`;
  return 'cpu';
}

// Module-level collectives on the default group (torch.distributed style).
export function allReduce(ts: Tensor | readonly Tensor[], op: ReduceOp = 'sum', o: { timeoutMs?: number } = {}): void {
  group('allReduce').allReduce(ts, op, o);
}
export function broadcast(ts: Tensor | readonly Tensor[], root = 0, o: { timeoutMs?: number } = {}): void {
  group('broadcast').broadcast(ts, root, o);
}
export function allGather(t: Tensor, o: { timeoutMs?: number } = {}): Tensor[] {
  return group('allGather').allGather(t, o);
}
export function allGatherCat(t: Tensor, dim = 0, o: { timeoutMs?: number } = {}): Tensor {
  return group('allGatherCat').allGatherCat(t, dim, o);
}
export function allGatherObject<T>(value: T, o: { timeoutMs?: number } = {}): T[] {
  return group('allGatherObject').allGatherObject(value, o);
}
export function barrier(o: { timeoutMs?: number; monitored?: boolean } = {}): void {
  group('barrier').barrier(o);
}
/** Destroys the default group (no-op without one). */
export function destroy(): void {
  defaultGroup?.destroy();
}
export { destroy as destroyProcessGroup };

/**
 * Checks that a value (a resumed step, a config hash) is identical on every rank; throws a DistError
 * listing each rank's value otherwise. Single-process: returns at once.
 */
export function assertSameOnAllRanks(what: string, value: unknown, pg: ProcessGroup | null = defaultGroup): void {
  if (pg === null || pg.worldSize === 1) return;
  const all = pg.allGatherObject(value);
  const first = JSON.stringify(all[0]);
  if (all.some((v) => JSON.stringify(v) !== first)) {
    throw new DistError(`${what} differs between ranks: ${all.map((v, r) => `rank ${r}: ${JSON.stringify(v)}`).join(', ')}`, 'check', pg.rank);
  }
}
