// flm/web: run an ONNX export of an flm model (`flm export RUN --format onnx --out DIR`) in a browser
// or any JavaScript runtime with onnxruntime-web. No Node APIs and no libtorch.
export { loadWebModel, WebModel, WebModelError, type LoadWebModelOptions, type WebImage, type WebCaption, type WebAnswer, type RankedText } from './model.js';
export { preprocessImage, normalize, resizeCover, toRgb, type PixelImage, type Normalization } from './preprocess.js';
export { parseManifest, ONNX_MANIFEST_FILE, ONNX_MANIFEST_FORMAT, ONNX_MANIFEST_VERSION, type OnnxManifest, type OnnxTask, type OnnxGraphRole, type GraphSpec, type TensorSpec } from './manifest.js';
