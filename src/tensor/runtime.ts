// Process-wide runtime settings and introspection: threads, memory, build information.
import { native } from '../native/binding.js';
import { checkInt } from './args.js';
import { publicFunction } from './public.js';

/** Intra-op threads, 1 to max(64, 4 x the hardware threads) (more only slows libtorch down; the cap is checked natively). */
export const setNumThreads = publicFunction('setNumThreads', function setNumThreads(n: number): void {
  native.setNumThreads(checkInt('setNumThreads', 'n', n, 1));
});
export function getNumThreads(): number {
  return native.getNumThreads();
}
export const setNumInteropThreads = publicFunction('setNumInteropThreads', function setNumInteropThreads(n: number): void {
  native.setNumInteropThreads(checkInt('setNumInteropThreads', 'n', n, 1));
});
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
