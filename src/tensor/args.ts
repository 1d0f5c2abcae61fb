// The argument checks of the public tensor functions, in one wording: each failure is a TorchError whose
// message starts with the public function's name and names the argument ("softmax: argument dim must be
// an integer, got 0.5"). The Tensor checks (tensorArg & co.) live in tensor.ts, next to the class whose
// brand they test.
import { TorchError } from './errors.js';

export function argError(op: string, msg: string): never {
  throw new TorchError(`${op}: ${msg}`, op);
}

/** A value as an error message shows it: numbers as JavaScript writes them, other things by kind. */
export function describeValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return kindOf(v);
}

/** The kind of a value for "must be a Tensor, got <kind>": number, string, null, an array, a Map... */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    let name: unknown;
    try {
      name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    } catch {
      return 'an object'; // a Proxy whose getPrototypeOf trap throws: the message must not rethrow
    }
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return typeof v;
}

/**
 * An integer argument, at least `min` when given. The upper bound of a value that crosses into libtorch
 * is checked natively, where its C++ type is known; both report the number as given (1e+300).
 */
export function checkInt(op: string, name: string, v: unknown, min?: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) argError(op, `${name} must be an integer, got ${describeValue(v)}`);
  if (min !== undefined && v < min) argError(op, `${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

export function checkInts(op: string, name: string, v: unknown): number[] {
  if (!Array.isArray(v)) argError(op, `${name} must be an array of integers, got ${describeValue(v)}`);
  for (const x of v) checkInt(op, name, x);
  return v as number[];
}

/** A number argument (finite unless `allowInfinite`). */
export function checkNumber(op: string, name: string, v: unknown, allowInfinite = false): number {
  if (typeof v !== 'number' || Number.isNaN(v) || (!allowInfinite && !Number.isFinite(v))) {
    argError(op, `${name} must be a ${allowInfinite ? '' : 'finite '}number, got ${describeValue(v)}`);
  }
  return v;
}

export function checkFunction(op: string, name: string, v: unknown): void {
  if (typeof v !== 'function') argError(op, `argument ${name} must be a function, got ${kindOf(v)}`);
}

export function checkArray(op: string, name: string, v: unknown): readonly unknown[] {
  if (!Array.isArray(v)) argError(op, `argument ${name} must be an array, got ${kindOf(v)}`);
  return v;
}

export function checkString(op: string, name: string, v: unknown): string {
  if (typeof v !== 'string') argError(op, `argument ${name} must be a string, got ${kindOf(v)}`);
  return v;
}

/** An options argument: undefined, or a plain object (not null, a number, an array...). */
export function checkOptions(op: string, v: unknown, name = 'options'): void {
  if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) argError(op, `argument ${name} must be an object, got ${kindOf(v)}`);
}
