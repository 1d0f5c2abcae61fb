// How the API fuzzer classes an error a call threw (see fuzz.ts).
import { TorchError } from '../src/tensor/index.js';
import { UserCodeError } from './values.js';

/**
 * The class of an error a call threw: 'TorchError' when it is one (instanceof) and names the function
 * called; 'TorchError:misnamed' when it names another (a native op, a helper); 'user-code' for an
 * error the fuzzer's own callbacks, getters or proxies threw (it must pass through unchanged); else the
 * error's class (TypeError...), which the public API must never throw.
 */
export function outcomeOf(e: unknown, target: string): string {
  if (e instanceof UserCodeError) return 'user-code';
  // the raw addon's ops may report under the public name of the function that runs them (maxDim as max)
  if (e instanceof TorchError) return target.startsWith('native.') || e.op === publicNameOf(target) ? 'TorchError' : 'TorchError:misnamed';
  if (e instanceof Error) return e.name === 'TorchError' ? 'TorchError-lookalike' : e.constructor?.name ?? 'Error';
  return 'non-Error-throw';
}

/** The name a target's errors must carry: F.softmax -> softmax, Tensor#grad(set) -> setGrad, ... */
export function publicNameOf(target: string): string {
  const t = target.replace(/\+chain$/, '');
  const m = /^(?:F\.|Tensor#)?(?:\[Symbol\.)?(\w+)\]?(?:\((get|set)\))?$/.exec(t);
  if (!m) return t;
  return m[2] === 'set' ? `set${m[1]!.charAt(0).toUpperCase()}${m[1]!.slice(1)}` : m[1]!;
}
