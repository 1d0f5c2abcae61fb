// The engine's error type (defined in src/native/errors.ts, where the addon's errors are made).
export { TorchError } from '../native/errors.js';
