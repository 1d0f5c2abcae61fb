// Grad-mode scopes and a finite-difference gradient checker.
import { native } from '../native/binding.js';
import { Tensor } from './tensor.js';
import { tidy } from './scope.js';
import { tensor } from './creation.js';
import { asPublicError } from './public.js';
import { argError, checkArray, checkFunction, checkNumber, checkOptions, kindOf } from './args.js';

// These run user code, so they are not publicFunctions (public.ts): an error from fn leaves unchanged.

/** Runs fn with gradient recording off (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  checkFunction('noGrad', 'fn', fn);
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}
/** Runs fn with gradient recording on (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  checkFunction('enableGrad', 'fn', fn);
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
  checkFunction('gradcheck', 'fn', fn);
  checkArray('gradcheck', 'inputs', inputs);
  checkOptions('gradcheck', o);
  const eps = checkNumber('gradcheck', 'eps', o.eps ?? 1e-6);
  const atol = checkNumber('gradcheck', 'atol', o.atol ?? 1e-5);
  const rtol = checkNumber('gradcheck', 'rtol', o.rtol ?? 1e-3);
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) argError('gradcheck', `inputs[${i}] must be a Tensor, got ${kindOf(x)}`);
    if (x.dtype !== 'float64') argError('gradcheck', `inputs[${i}] must be float64, got ${x.dtype} ${JSON.stringify(x.shape)}`);
    // the finite differences write into the input's memory
    if (x.requiresGrad && !x.isContiguous()) argError('gradcheck', `inputs[${i}] must be contiguous`);
  });
  if (!inputs.some((x) => x.requiresGrad)) argError('gradcheck', 'no input requires grad: nothing to check');
  // errors from fn leave as they are; gradcheck's own steps report as gradcheck
  const fromFn = new WeakSet<object>();
  const output = (): Tensor => {
    let y: unknown;
    try {
      y = fn(...inputs);
    } catch (e) {
      if (typeof e === 'object' && e !== null) fromFn.add(e);
      throw e;
    }
    if (!(y instanceof Tensor)) argError('gradcheck', `fn must return a Tensor, got ${kindOf(y)}`);
    return y;
  };
  let weights: Tensor | undefined;
  try {
    weights = tidy(() => {
      const out = noGrad(output);
      const n = out.numel;
      const w: number[] = [];
      for (let i = 0; i < n; i++) w.push(Math.sin(i * 12.9898 + 1.2345) * 0.5 + 1);
      return tensor(w, { dtype: 'float64' }).reshape(out.shape);
    });
    return compare(inputs, output, weights, eps, atol, rtol);
  } catch (e) {
    throw typeof e === 'object' && e !== null && fromFn.has(e) ? e : asPublicError(e, 'gradcheck');
  } finally {
    weights?.dispose();
  }
}

function compare(inputs: Tensor[], output: () => Tensor, weights: Tensor, eps: number, atol: number, rtol: number): GradcheckResult {
  const objective = (): number => tidy(() => noGrad(() => output().mul(weights).sum().item()));
  // analytic
  const analytic: Float64Array[] = tidy(() => {
    for (const x of inputs) if (x.requiresGrad) x.grad = null;
    const y = output().mul(weights).sum();
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
  return { ok, maxAbsError: maxErr, worst };
}
