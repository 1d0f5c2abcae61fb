// Process-wide runtime settings and introspection: threads, memory, build information.
import { native } from '../native/binding.js';

/** Intra-op threads, 1 to max(64, 4 x the hardware threads) (more only slows libtorch down). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: thread count must be a positive integer, got ${n}`);
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
export function setNumInteropThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumInteropThreads: thread count must be a positive integer, got ${n}`);
  native.setNumInteropThreads(n);
}
/** Live native tensor handles and their bytes (views count their full size). */
export function memory(): { numTensors: number; numBytes: number } {
  return native.memory();
}
export interface BuildInfo {
  torchVersion: string;
  cudaAvailable: boolean;
  builtWithCuda: boolean;
  numThreads: number;
  config: string;
  parallelInfo: string;
}
export function buildInfo(): BuildInfo {
  return native.buildInfo();
}
export function cudaAvailable(): boolean {
  return native.buildInfo().cudaAvailable;
}
