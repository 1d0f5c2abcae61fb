export * from './dtype.js';
export { Tensor, TorchError, type Scalar, type Shape, type NestedArray } from './tensor.js';
export * from './creation.js';
export * from './autograd.js';
export * from './runtime.js';
export { countFlops, type FlopCount, type FlopReport } from './flops.js';
export { tidy, keep, dispose } from './scope.js';
export * as F from './functional.js';
export { autocast, type AutocastOptions, type AutocastDevice } from './autocast.js';
