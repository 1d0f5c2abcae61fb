// The package's `objectives` namespace: the objectives layer, plus maskParityRows, which moved to
// src/verify (it reads fixture files, so it cannot live in the objectives layer) and is re-exported
// here so that `objectives.maskParityRows` keeps working.
export * from './objectives/index.js';
export { maskParityRows, type MaskParityRow } from './verify/mask-parity.js';
