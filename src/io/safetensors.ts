// Named tensors to and from safetensors files (https://github.com/huggingface/safetensors):
// u64-LE header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw little-endian data.
// Each tensor is read straight into its own native memory (no whole-file buffer).
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { Tensor, empty, type DType, noGrad, tidy } from '../tensor/index.js';
import { parseSafetensorsHeader, writeSafetensors, SafetensorsError, type SafetensorsDtype } from './safetensors-format.js';

const TO_DTYPE: Record<SafetensorsDtype, DType> = {
  F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const FROM_DTYPE: Record<DType, SafetensorsDtype> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

export interface LoadedSafetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Reads every tensor (or those `filter` accepts) of a safetensors file onto the CPU. */
export function loadSafetensors(path: string, filter?: (name: string) => boolean): LoadedSafetensors {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const header = parseSafetensorsHeader(fd, size, path);
    const tensors = new Map<string, Tensor>();
    for (const e of header.entries) {
      if (filter && !filter(e.name)) continue;
      const t = empty(e.shape, { dtype: TO_DTYPE[e.dtype] });
      const n = e.end - e.begin;
      if (n > 0) {
        const view = new Uint8Array(t.dataView());
        let off = 0;
        while (off < n) {
          const r = readSync(fd, view, off, n - off, header.dataStart + e.begin + off);
          if (r <= 0) throw new SafetensorsError(`${path}: unexpected end of file reading '${e.name}'`);
          off += r;
        }
      }
      tensors.set(e.name, t);
    }
    return { tensors, metadata: header.metadata };
  } finally {
    closeSync(fd);
  }
}

/** Writes named tensors (any device; copied to CPU, made contiguous) atomically. */
export function saveSafetensors(path: string, tensors: Map<string, Tensor> | [string, Tensor][], metadata: Record<string, string> = {}): void {
  const entries = [...(tensors instanceof Map ? tensors.entries() : tensors)].map(([name, t]) => {
    const bytes = tidy(() => new Uint8Array(noGrad(() => t.detach().to('cpu').contiguous()).dataView().slice(0)));
    return { name, dtype: FROM_DTYPE[t.dtype], shape: t.shape, data: bytes };
  });
  writeSafetensors(path, entries, metadata);
}

export { SafetensorsError };
