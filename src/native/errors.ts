// The engine's error type: every bad call throws a TorchError whose message starts with the op's name.
// It lives with the binding because the addon makes its errors as instances of it (binding.ts registers
// the class with setErrorClass); src/tensor/errors.ts re-exports it. A native error's message ends with
// the dtypes and shapes of the op's tensor arguments, and `shapes` holds those shapes (null for a
// disposed tensor), in argument order.
export class TorchError extends Error {
  readonly shapes: readonly (readonly number[] | null)[];
  constructor(message: string, readonly op: string, shapes: readonly (readonly number[] | null)[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = 'TorchError';
    this.shapes = shapes;
  }
}
