// Memory scopes for native tensors (TensorFlow.js's tidy/keep model).
// Native memory must not wait for the JS garbage collector: every tensor created inside tidy(fn) is
// freed when fn returns, except the tensors it returns (they move to the enclosing scope) and those
// passed to keep(). tidy is synchronous only: an async fn would let other work's tensors leak into it.
import { argError, checkFunction, kindOf } from './args.js';

export interface Tracked {
  dispose(): void;
  readonly isDisposed: boolean;
  /** set by keep(): never disposed by a scope */
  _kept: boolean;
  /** the scope currently holding it (so dispose() can leave it at once instead of at scope end) */
  _scope: Scope | null;
  /** its place in that scope's items */
  _scopeIndex: number;
}

/**
 * A tidy scope: the tensors made in it, in order. dispose() leaves a hole at the tensor's index (no hash
 * per tensor, as a Set needs: this runs on every op); the holes are squeezed out when they are most of it,
 * so a long loop that disposes as it goes keeps its scope small.
 */
export interface Scope {
  items: (Tracked | undefined)[];
  live: number;
}

function join(s: Scope, t: Tracked): void {
  t._scope = s;
  t._scopeIndex = s.items.length;
  s.items.push(t);
  s.live++;
}

function compact(s: Scope): void {
  const a = s.items;
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const t = a[i];
    if (t !== undefined) {
      t._scopeIndex = j;
      a[j++] = t;
    }
  }
  a.length = j;
}

// Called when a tensor is in no scope (made outside tidy, returned from the outermost one, or kept): from
// then on the garbage collector must free it if it is forgotten. tensor.ts sets it (it reads the Tensor's
// private fields); a lookalike passed to keep() is left alone.
let unscopedHook: (t: Tracked) => void = () => {};
export function onUnscoped(f: (t: Tracked) => void): void {
  unscopedHook = f;
}

const stack: Scope[] = [];

// The tensors made during the outermost running public call (see public.ts): a call that fails frees
// the ones it made, so that an error never leaves native memory to the garbage collector. This runs on
// every tensor op, so it is an array that never shrinks and a count: setting `length` would free and
// regrow its backing store on every call. Slots past the count are cleared, so that the garbage collector
// still frees a tensor the caller forgot.
const madeInCall: (Tracked | undefined)[] = [];
let madeCount = 0;
let callDepth = 0;

export function track<T extends Tracked>(t: T): T {
  const top = stack[stack.length - 1];
  if (top !== undefined) join(top, t);
  else unscopedHook(t);
  if (callDepth > 0) madeInCall[madeCount++] = t;
  return t;
}

/** A public call starts; the mark to pass to endCall. */
export function beginCall(): number {
  callDepth++;
  return madeCount;
}

/** A public call ends; a failed one disposes the tensors made since its mark (kept ones excepted). */
export function endCall(mark: number, failed: boolean): void {
  callDepth--;
  if (failed) {
    for (let i = mark; i < madeCount; i++) {
      const t = madeInCall[i]!;
      if (!t._kept) t.dispose();
    }
  }
  if (failed || callDepth === 0) {
    const end = madeCount;
    madeCount = callDepth === 0 ? 0 : mark;
    for (let i = madeCount; i < end; i++) madeInCall[i] = undefined;
  }
}

/** Called by dispose(): a long loop that disposes as it goes keeps its scope small. */
export function untrack(t: Tracked): void {
  const s = t._scope;
  if (s === null) return;
  s.items[t._scopeIndex] = undefined;
  s.live--;
  t._scope = null;
  if (s.items.length >= 1024 && s.live * 4 <= s.items.length) compact(s);
}

/** Exempts a tensor from every enclosing and future tidy scope; the caller now owns it. */
export function keep<T extends Tracked>(t: T): T {
  if (t === null || typeof t !== 'object' || !('_kept' in t)) argError('keep', `argument t must be a Tensor, got ${kindOf(t)}`);
  t._kept = true;
  untrack(t);
  unscopedHook(t);
  return t;
}

function collect(value: unknown, out: Set<Tracked>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if ('_kept' in value && 'dispose' in value) {
    out.add(value as Tracked);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
}

/**
 * Runs fn and frees every tensor it created except those it returns (found in the result, arrays,
 * Maps and plain objects up to 4 levels deep) and kept ones. Nestable.
 */
export function tidy<T>(fn: () => T): T {
  checkFunction('tidy', 'fn', fn);
  const scope: Scope = { items: [], live: 0 };
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    close(scope, null);
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    close(scope, null);
    argError('tidy', 'fn must be synchronous (it returned a Promise)');
  }
  const escaping = new Set<Tracked>();
  collect(result, escaping);
  close(scope, escaping);
  return result;
}

/** Ends a scope: its tensors in `escaping` move to the enclosing scope (or to none), the others are freed. */
function close(scope: Scope, escaping: Set<Tracked> | null): void {
  const parent = stack[stack.length - 1];
  for (const t of scope.items) {
    if (t === undefined || t._scope !== scope) continue;
    t._scope = null; // disposing it must not touch the array this loop reads
    if (escaping?.has(t)) {
      if (parent !== undefined) join(parent, t);
      else unscopedHook(t);
    } else t.dispose();
  }
  scope.items = [];
  scope.live = 0;
}

/** Disposes every tensor found in a value (tensor, array, Map or plain object). */
export function dispose(value: unknown): void {
  const found = new Set<Tracked>();
  collect(value, found);
  for (const t of found) t.dispose();
}

export function scopeDepth(): number {
  return stack.length;
}
