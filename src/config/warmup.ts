// The warmup rule, shared by the settings checks (resolve.ts) and the schedule (train/schedule.ts):
// an integer is a step count, a fraction in (0, 1) a share of the steps, int(steps x fraction).
export function warmupStepsOf(warmup: number, totalSteps: number): { steps: number } | { error: string } {
  if (typeof warmup !== 'number' || !Number.isFinite(warmup)) return { error: `warmup must be a finite number, got ${String(warmup)}` };
  if (warmup < 0) return { error: `warmup must be >= 0, got ${warmup}` };
  if (Number.isInteger(warmup)) return { steps: warmup };
  if (warmup > 1) return { error: `warmup ${warmup} is neither an integer step count nor a fraction in (0, 1)` };
  return { steps: Math.trunc(totalSteps * warmup) };
}
