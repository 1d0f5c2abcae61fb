// Verification against the PyTorch reference: golden-value parity of the models, losses, gradients and
// masks (`flm parity`). It reads fixture files, so it sits above models, objectives and io and nothing
// in the library layers imports it.
export { runParity, compareTensors, type ParityRow, type ParityResult, type ParityOptions } from './model-parity.js';
export { maskParityRows, type MaskParityRow } from './mask-parity.js';
