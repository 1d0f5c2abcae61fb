/**
 * Image decoding off the main thread: a pool of worker_threads running decode-worker.js, each with a
 * few decodes in flight (sharp itself is asynchronous). With 0 workers decoding runs in-process.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadImageTensor, type ImageOptions } from './image.js';
import { imageOrigin, type ImageRef } from './types.js';

export interface DecodeTask {
  id: number;
  refs: ImageRef[];
  opts: ImageOptions;
  /** Per-image augmentation seeds (same length as refs) when augmenting. */
  seeds?: number[];
}

export type DecodeResult =
  | { id: number; ok: true; images: Float32Array[] }
  | { id: number; ok: false; origin: string; reason: string };

type Loader = (ref: ImageRef, opts: ImageOptions) => Promise<Float32Array>;

/** Decode every image of a task; the first failure fails the task. */
export async function runDecode(task: DecodeTask, load: Loader = loadImageTensor): Promise<DecodeResult> {
  const images: Float32Array[] = [];
  for (let k = 0; k < task.refs.length; k++) {
    const ref = task.refs[k] as ImageRef;
    const seed = task.seeds?.[k];
    const opts: ImageOptions = seed !== undefined && task.opts.augment !== undefined ? { ...task.opts, augment: { ...task.opts.augment, seed } } : task.opts;
    try {
      images.push(await load(ref, opts));
    } catch (e) {
      return { id: task.id, ok: false, origin: imageOrigin(ref), reason: e instanceof Error ? e.message : String(e) };
    }
  }
  return { id: task.id, ok: true, images };
}

export interface Decoder {
  decode(task: Omit<DecodeTask, 'id'>): Promise<DecodeResult>;
  close(): Promise<void>;
}

class InlineDecoder implements Decoder {
  private next = 0;
  decode(task: Omit<DecodeTask, 'id'>): Promise<DecodeResult> {
    return runDecode({ ...task, id: this.next++ });
  }
  async close(): Promise<void> {}
}

/**
 * Structured clone copies a typed array's whole backing buffer, and image bytes are often views into
 * something much larger (an Arrow record batch, Buffer's pool): send a private copy and transfer it.
 */
function compactRef(ref: ImageRef, transfer: ArrayBuffer[]): ImageRef {
  if (ref.kind !== 'bytes' && ref.kind !== 'raw') return ref;
  const view = ref.kind === 'bytes' ? ref.bytes : ref.data;
  const copy = new Uint8Array(view);
  transfer.push(copy.buffer);
  return ref.kind === 'bytes' ? { ...ref, bytes: copy } : { ...ref, data: copy };
}

interface Slot {
  worker: Worker;
  busy: number;
}

class WorkerDecoder implements Decoder {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { resolve: (r: DecodeResult) => void; reject: (e: Error) => void; slot: Slot }>();
  private next = 0;
  private closed = false;

  constructor(n: number) {
    const url = new URL('./decode-worker.js', import.meta.url);
    for (let i = 0; i < n; i++) {
      const slot: Slot = { worker: new Worker(url), busy: 0 };
      slot.worker.on('message', (r: DecodeResult) => {
        const p = this.pending.get(r.id);
        if (p === undefined) return;
        this.pending.delete(r.id);
        if (--p.slot.busy === 0) p.slot.worker.unref();
        p.resolve(r);
      });
      slot.worker.on('error', (e) => this.failSlot(slot, e));
      slot.worker.on('exit', (code) => {
        if (!this.closed) this.failSlot(slot, new Error(`decode worker exited with code ${code}`));
      });
      // Idle workers must not keep the process alive; busy ones must (see decode()).
      slot.worker.unref();
      this.slots.push(slot);
    }
  }

  private failSlot(slot: Slot, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      p.reject(e);
    }
    slot.busy = 0;
    slot.worker.unref();
  }

  decode(task: Omit<DecodeTask, 'id'>): Promise<DecodeResult> {
    if (this.closed) return Promise.reject(new Error('decoder is closed'));
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.next++;
    if (slot.busy++ === 0) slot.worker.ref();
    const transfer: ArrayBuffer[] = [];
    const refs = task.refs.map((r) => compactRef(r, transfer));
    return new Promise<DecodeResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ ...task, refs, id } satisfies DecodeTask, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    // worker.terminate()'s promise does not keep the event loop alive: without a handle, a caller
    // awaiting close() at the end of a command can see the process exit (code 13) before it resolves.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await Promise.all(this.slots.map((s) => s.worker.terminate()));
    } finally {
      clearInterval(keepAlive);
    }
    for (const p of this.pending.values()) p.reject(new Error('decoder closed'));
    this.pending.clear();
  }
}

/** Default worker count: the CPUs minus one for the training thread, at most 8. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism() - 1));
}

export function createDecoder(workers: number = defaultWorkers()): Decoder {
  return workers <= 0 ? new InlineDecoder() : new WorkerDecoder(workers);
}
