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
//
// These wrappers run on every tensor op, so they allocate nothing on success: `f.apply(this, arguments)`
// (V8 passes the arguments on without materialising them), no closure, no rest array.
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

function named<F>(w: F, name: string, length: number): F {
  Object.defineProperty(w, 'name', { value: name });
  Object.defineProperty(w, 'length', { value: length });
  return w;
}

/** A public function: its errors name `name`, and a failing call frees what it made. */
export function publicFunction<F extends AnyFn>(name: string, f: F): F {
  return named(function (this: unknown): unknown {
    const mark = beginCall();
    try {
      const r: unknown = f.apply(this, arguments as unknown as Parameters<F>);
      endCall(mark, false);
      return r;
    } catch (e) {
      endCall(mark, true);
      throw asPublicError(e, name);
    }
  }, name, f.length) as unknown as F;
}

/**
 * Wraps every method and accessor of a class's prototype: `this` is checked with isInstance (a failure
 * says what it was, through describe), then the call runs as a public function named after the method
 * (a setter `x` is named setX). Members listed in `light` only get the `this` check: they make no tensor,
 * fail only under their own name, and run on every op.
 */
export function publicMethods(cls: { prototype: object }, isInstance: (v: unknown) => boolean, describe: (v: unknown) => string, light: ReadonlySet<string>): void {
  const proto = cls.prototype;
  const notThis = (name: string, self: unknown): never => {
    throw new TorchError(`${name}: called on ${describe(self)}, not a Tensor (a method taken off its tensor, or a lookalike object)`, name);
  };
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, key)!;
    // Symbol.dispose: its description is 'Symbol.dispose' or, in Node 20, 'nodejs.dispose'
    const name = typeof key === 'symbol' ? (key.description ?? 'method').replace(/^.*\./, '') : key;
    if (typeof d.value === 'function') {
      const f = d.value as Function;
      d.value = named(light.has(name)
        ? function (this: unknown): unknown {
          if (!isInstance(this)) notThis(name, this);
          return f.apply(this, arguments);
        }
        : function (this: unknown): unknown {
          // publicFunction's body, inlined: one call level less on every method call
          if (!isInstance(this)) notThis(name, this);
          const mark = beginCall();
          try {
            const r: unknown = f.apply(this, arguments);
            endCall(mark, false);
            return r;
          } catch (e) {
            endCall(mark, true);
            throw asPublicError(e, name);
          }
        }, name, f.length);
    }
    if (d.get) {
      const g = d.get;
      const run = publicFunction(name, g as AnyFn);
      d.get = light.has(name)
        ? function (this: unknown): unknown { if (!isInstance(this)) notThis(name, this); return g.call(this); }
        : function (this: unknown): unknown { if (!isInstance(this)) notThis(name, this); return run.call(this); };
    }
    if (d.set) {
      const setName = `set${name.charAt(0).toUpperCase()}${name.slice(1)}`;
      const run = publicFunction(setName, d.set as AnyFn);
      d.set = function (this: unknown, v: unknown): void { if (!isInstance(this)) notThis(setName, this); run.call(this, v as never); };
    }
    Object.defineProperty(proto, key, d);
  }
}
