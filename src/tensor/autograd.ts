// Grad-mode scopes and a finite-difference gradient checker.
import { native } from '../native/binding.js';
import { Tensor } from './tensor.js';
import { tidy } from './scope.js';
import { tensor } from './creation.js';

/** Runs fn with gradient recording off (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}
/** Runs fn with gradient recording on (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  /** "input i, element j: analytic a vs numeric n" for the worst element */
  worst: string;
}

/**
 * Compares autograd gradients of sum(fn(inputs) * w) (w a fixed random weighting, so every output
 * element matters) with central finite differences, in float64. Inputs must be float64 leaves with
 * requiresGrad; only those are checked.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], o: { eps?: number; atol?: number; rtol?: number } = {}): GradcheckResult {
  const eps = o.eps ?? 1e-6;
  const atol = o.atol ?? 1e-5;
  const rtol = o.rtol ?? 1e-3;
  for (const x of inputs) {
    if (x.dtype !== 'float64') throw new Error('gradcheck: inputs must be float64');
  }
  const weights: Tensor = tidy(() => {
    const out = noGrad(() => fn(...inputs));
    const n = out.numel;
    const w: number[] = [];
    for (let i = 0; i < n; i++) w.push(Math.sin(i * 12.9898 + 1.2345) * 0.5 + 1);
    return tensor(w, { dtype: 'float64' }).reshape(out.shape);
  });
  const objective = (): number => tidy(() => noGrad(() => fn(...inputs).mul(weights).sum().item()));
  // analytic
  const analytic: Float64Array[] = tidy(() => {
    for (const x of inputs) if (x.requiresGrad) x.grad = null;
    const y = fn(...inputs).mul(weights).sum();
    y.backward();
    return inputs.map((x) => {
      const g = x.grad;
      const arr = g ? (g.toTypedArray() as Float64Array) : new Float64Array(x.numel);
      g?.dispose();
      x.grad = null;
      return arr;
    });
  });
  let maxErr = 0;
  let worst = '';
  let ok = true;
  inputs.forEach((x, i) => {
    if (!x.requiresGrad) return;
    const view = new Float64Array(x.dataView());
    for (let j = 0; j < view.length; j++) {
      const orig = view[j]!;
      view[j] = orig + eps;
      const fp = objective();
      view[j] = orig - eps;
      const fm = objective();
      view[j] = orig;
      const num = (fp - fm) / (2 * eps);
      const an = analytic[i]![j]!;
      const err = Math.abs(num - an);
      if (err > maxErr) {
        maxErr = err;
        worst = `input ${i}, element ${j}: analytic ${an} vs numeric ${num}`;
      }
      if (err > atol + rtol * Math.abs(num)) ok = false;
    }
  });
  weights.dispose();
  return { ok, maxAbsError: maxErr, worst };
}
