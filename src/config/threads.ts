// The intra-op thread count a process starts with, in one place: the native binding applies it when it
// loads libtorch, `threads: 0` settings and the CLI's --threads defaults resolve to it, and `flm info`
// prints it. libtorch's own default is its count of physical cores, which is 1 on a 2-vCPU VM where two
// threads run a training step faster (README, "Threads").
import { availableParallelism } from 'node:os';

/** OMP_NUM_THREADS when set (libtorch reads it too), else every core the process may use. */
export function defaultNumThreads(): number {
  const env = Number(process.env.OMP_NUM_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, availableParallelism());
}

/** How defaultNumThreads chose, for `flm info`. */
export function defaultNumThreadsSource(): string {
  const env = Number(process.env.OMP_NUM_THREADS);
  return Number.isInteger(env) && env >= 1 ? 'OMP_NUM_THREADS' : 'all cores';
}
