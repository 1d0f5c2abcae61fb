// An ONNX graph under construction: named inputs and outputs with symbolic (dynamic) axes, nodes,
// and initializers read from the live parameter tensors (one initializer per tensor, however many
// module names reach it). `toModel()` gives the ModelProto that proto.ts encodes.
import type { Tensor } from '../tensor/index.js';
import { ATTR, ONNX_BOOL, ONNX_FLOAT, ONNX_INT64, type AttributeJson, type ElemType, type ModelJson, type NodeJson, type TensorJson, type ValueInfoJson } from './proto.js';

/** The opset flm writes: ONNX 1.12's (IR version 8), which onnxruntime-web and the ONNX checker of Debian 12 both read. */
export const OPSET = 17;
export const IR_VERSION = 8;

export type Dim = number | string;
export type Attr = { f: number } | { i: number } | { ints: readonly number[] } | { floats: readonly number[] } | { s: string };

export class OnnxExportError extends Error {
  override readonly name = 'OnnxExportError';
}

export interface GraphIO {
  name: string;
  type: 'float32' | 'int64' | 'bool';
  /** numbers are fixed sizes, strings are named dynamic axes ('batch', 'sequence') */
  shape: Dim[];
  doc: string;
}

const ELEM: Record<GraphIO['type'], ElemType> = { float32: ONNX_FLOAT, int64: ONNX_INT64, bool: ONNX_BOOL };

function valueInfo(io: GraphIO): ValueInfoJson {
  return {
    name: io.name,
    type: { tensor_type: { elem_type: ELEM[io.type], shape: { dim: io.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
    doc_string: io.doc,
  };
}

function attribute(name: string, a: Attr): AttributeJson {
  if ('f' in a) return { name, type: ATTR.FLOAT, f: a.f };
  if ('i' in a) return { name, type: ATTR.INT, i: a.i };
  if ('ints' in a) return { name, type: ATTR.INTS, ints: [...a.ints] };
  if ('floats' in a) return { name, type: ATTR.FLOATS, floats: [...a.floats] };
  return { name, type: ATTR.STRING, s: new TextEncoder().encode(a.s) };
}

// ONNX raw_data is little-endian, as typed arrays are on every platform Node and browsers run on; every
// caller passes an array of its own (a fresh copy out of libtorch), so its bytes are viewed, not copied
const bytesOf = (a: Float32Array | BigInt64Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class OnnxGraph {
  readonly inputs: GraphIO[] = [];
  readonly outputs: GraphIO[] = [];
  readonly #nodes: NodeJson[] = [];
  readonly #inits: TensorJson[] = [];
  readonly #names = new Set<string>();
  readonly #params = new Map<Tensor, Map<string, string>>();
  readonly #consts = new Map<string, string>();
  #initBytes = 0;

  /** outputs: the names of the graph's outputs, kept free for output() */
  constructor(readonly name: string, readonly doc: string, readonly outputNames: readonly string[] = []) {}

  /** A fresh value name from a hint (node and value names are unique in a graph). */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = base;
    for (let i = 1; this.#names.has(name) || this.outputNames.includes(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }

  input(io: GraphIO): string {
    if (this.#names.has(io.name)) throw new OnnxExportError(`graph ${this.name}: input name ${io.name} is taken`);
    this.#names.add(io.name);
    this.inputs.push(io);
    return io.name;
  }

  output(value: string, io: GraphIO): void {
    if (this.#names.has(io.name)) throw new OnnxExportError(`graph ${this.name}: output name ${io.name} is taken`);
    this.#names.add(io.name);
    this.#nodes.push({ op_type: 'Identity', name: `${io.name}/identity`, input: [value], output: [io.name], attribute: [] });
    this.outputs.push(io);
  }

  /** One node with one output. */
  op(type: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, hint = type): string {
    return this.opN(type, inputs, 1, attrs, hint)[0]!;
  }

  /** One node with `n` outputs. An empty input name is an omitted optional input. */
  opN(type: string, inputs: readonly string[], n: number, attrs: Record<string, Attr> = {}, hint = type): string[] {
    const out = Array.from({ length: n }, (_, i) => this.fresh(n === 1 ? hint : `${hint}:${i}`));
    this.#nodes.push({
      op_type: type, name: this.fresh(`${hint}/${type}`), input: [...inputs], output: out,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  #init(name: string, dataType: number, dims: readonly number[], data: Float32Array | BigInt64Array | Uint8Array): string {
    const n = this.fresh(name);
    const raw = bytesOf(data);
    this.#initBytes += raw.byteLength;
    this.#inits.push({ name: n, dims: [...dims], data_type: dataType, raw_data: raw });
    return n;
  }

  /**
   * The initializer of a parameter tensor (float32), read once per tensor and form: `form` 'T' stores
   * the transpose of a 2-D weight (Linear weights as MatMul's right operand).
   */
  param(t: Tensor, name: string, form: 'as-is' | 'T' = 'as-is'): string {
    const forms = this.#params.get(t) ?? new Map<string, string>();
    this.#params.set(t, forms);
    const have = forms.get(form);
    if (have) return have;
    if (t.dtype !== 'float32') throw new OnnxExportError(`parameter ${name} is ${t.dtype}; the ONNX export writes float32 models (load the model in float32)`);
    const data = t.toTypedArray() as Float32Array; // a contiguous CPU copy
    const dims = [...t.shape];
    let out: string;
    if (form === 'T') {
      if (dims.length !== 2) throw new OnnxExportError(`parameter ${name} [${dims}] is not a matrix`);
      const [r, c] = dims as [number, number];
      const tr = new Float32Array(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) tr[j * r + i] = data[i * c + j]!;
      out = this.#init(`${name}^T`, ONNX_FLOAT, [c, r], tr);
    } else out = this.#init(name, ONNX_FLOAT, dims, data);
    forms.set(form, out);
    return out;
  }

  /** A float32 constant (scalar when dims is []), shared by value. */
  constF(values: number | readonly number[], dims: readonly number[] = typeof values === 'number' ? [] : [values.length]): string {
    const list = typeof values === 'number' ? [values] : [...values];
    const key = `f:${dims.join('x')}:${list.map((v) => Math.fround(v)).join(',')}`;
    const have = this.#consts.get(key);
    if (have) return have;
    const n = this.#init('const_f', ONNX_FLOAT, dims, Float32Array.from(list));
    this.#consts.set(key, n);
    return n;
  }

  /** An int64 constant (scalar when dims is []), shared by value. */
  constI(values: number | readonly number[], dims: readonly number[] = typeof values === 'number' ? [] : [values.length]): string {
    const list = typeof values === 'number' ? [values] : [...values];
    const key = `i:${dims.join('x')}:${list.join(',')}`;
    const have = this.#consts.get(key);
    if (have) return have;
    const n = this.#init('const_i', ONNX_INT64, dims, BigInt64Array.from(list.map((v) => BigInt(v))));
    this.#consts.set(key, n);
    return n;
  }

  /** Bytes of all initializers (the file is a little larger). */
  get initializerBytes(): number {
    return this.#initBytes;
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  toModel(meta: { producerVersion: string; metadata?: Record<string, string> }): ModelJson {
    // a protobuf message over 2 GiB cannot be written in one piece (ONNX would need external data files)
    if (this.#initBytes > 2 ** 31 - 2 ** 26) {
      throw new OnnxExportError(`graph ${this.name}: ${(this.#initBytes / 2 ** 30).toFixed(2)} GiB of weights do not fit one ONNX file (2 GiB); external weight files are not supported yet`);
    }
    return {
      ir_version: IR_VERSION,
      producer_name: 'flm',
      producer_version: meta.producerVersion,
      doc_string: this.doc,
      opset_import: [{ domain: '', version: OPSET }],
      metadata_props: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.#nodes,
        initializer: this.#inits,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
        doc_string: this.doc,
      },
    };
  }
}
