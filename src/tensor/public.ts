// The public tensor functions and Tensor methods run through here, so that two rules hold for all of them
// in one place:
// - an error that leaves a call is a TorchError naming the function the caller called: a native op or
//   another public function it runs inside reports under that name (argsort, not the sort it runs;
//   tensor, not fromBuffer; crossEntropy, not the `to` that widens bfloat16 logits). The inner error is
//   kept as `cause`;
// - a call that fails frees the tensors it made before failing (scope.ts's beginCall/endCall), so native
//   memory never waits for the garbage collector after an error.
// Methods also check their `this`: a method taken off its tensor (const f = t.add; f(1)) or called on a
// lookalike object is an error naming the method, not a TypeError from inside it.
// Functions that run user code (tidy, noGrad, enableGrad, autocast, gradcheck) are not wrapped: an error
// from the user's fn must leave unchanged, and the tensors it made are the user's.
import { TorchError } from './errors.js';
import { beginCall, endCall } from './scope.js';

/** The error a public call throws for an error `e` from inside it. Non-TorchErrors (user code) pass unchanged. */
export function asPublicError(e: unknown, name: string): unknown {
  if (!(e instanceof TorchError) || e.op === name) return e;
  const prefix = `${e.op}: `;
  const rest = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return new TorchError(`${name}: ${rest}`, name, e.shapes, { cause: e });
}

type AnyFn = (...args: never[]) => unknown;

function run(name: string, f: Function, self: unknown, args: ArrayLike<unknown>): unknown {
  const mark = beginCall();
  let failed = true;
  try {
    const r: unknown = Reflect.apply(f, self, args);
    failed = false;
    return r;
  } catch (e) {
    throw asPublicError(e, name);
  } finally {
    endCall(mark, failed);
  }
}

function named<F>(w: F, name: string, length: number): F {
  Object.defineProperty(w, 'name', { value: name });
  Object.defineProperty(w, 'length', { value: length });
  return w;
}

// The wrappers pass `arguments` on (not a rest array): they run on every tensor op, and garbage per
// call makes the collector run, and finalise what tests and users left to it, at other times.

/** A public function: its errors name `name`, and a failing call frees what it made. */
export function publicFunction<F extends AnyFn>(name: string, f: F): F {
  return named(function (this: unknown): unknown {
    return run(name, f, this, arguments);
  }, name, f.length) as unknown as F;
}

/**
 * Wraps every method and accessor of a class's prototype: `this` is checked with isInstance (a failure
 * says what it was, through describe), then the call runs as a public function named after the method
 * (a setter `x` is named setX). Accessors listed in `light` only get the `this` check: they make no
 * tensor and cannot fail otherwise, and run on every op.
 */
export function publicMethods(cls: { prototype: object }, isInstance: (v: unknown) => boolean, describe: (v: unknown) => string, light: ReadonlySet<string>): void {
  const proto = cls.prototype;
  const checkThis = (name: string, self: unknown): void => {
    if (!isInstance(self)) throw new TorchError(`${name}: called on ${describe(self)}, not a Tensor (a method taken off its tensor, or a lookalike object)`, name);
  };
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, key)!;
    // Symbol.dispose: its description is 'Symbol.dispose' or, in Node 20, 'nodejs.dispose'
    const name = typeof key === 'symbol' ? (key.description ?? 'method').replace(/^.*\./, '') : key;
    if (typeof d.value === 'function') {
      const f = d.value as Function;
      d.value = named(function (this: unknown): unknown {
        checkThis(name, this);
        return run(name, f, this, arguments);
      }, name, f.length);
    }
    if (d.get) {
      const g = d.get;
      d.get = light.has(name)
        ? function (this: unknown): unknown { checkThis(name, this); return Reflect.apply(g, this, []); }
        : function (this: unknown): unknown { checkThis(name, this); return run(name, g, this, []); };
    }
    if (d.set) {
      const s = d.set;
      const setName = `set${name.charAt(0).toUpperCase()}${name.slice(1)}`;
      d.set = function (this: unknown, v: unknown): void { checkThis(setName, this); run(setName, s, this, [v]); };
    }
    Object.defineProperty(proto, key, d);
  }
}
