// ONNX export of flm models: the protobuf schema subset (proto.ts), a graph builder (graph.ts), module
// emitters (modules.ts), masks (masks.ts) and the task graphs (flm-graphs.ts).
export { OPSET, IR_VERSION, OnnxExportError, OnnxGraph, type GraphIO, type Dim } from './graph.js';
export { encodeModel, decodeModel, type ModelJson } from './proto.js';
export { EXPORTABLE_MODULES, checkExportable, ModuleEmitter, type KvSlot } from './modules.js';
export { GRAPH_NAMES, taskGraphs, captionCacheSlots, type GraphName } from './flm-graphs.js';
