// The engine's error type: every bad call throws a TorchError whose message starts with the op's name.
export class TorchError extends Error {
  constructor(message: string, readonly op: string) {
    super(message);
    this.name = 'TorchError';
  }
}
