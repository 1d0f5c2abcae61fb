// The intra-op thread count a process starts with, in one place: the native binding applies it when it
// loads libtorch, `threads: 0` settings and the CLI's --threads defaults resolve to it, and `flm info`
// prints it. (libtorch's own default, its guess at the physical cores, is 1 on a 2-vCPU VM.)
import { availableParallelism } from 'node:os';

/** The default intra-op threads: every core the process may use (measured fastest; see README "Threads"). */
export function defaultNumThreads(): number {
  return Math.max(1, availableParallelism());
}
