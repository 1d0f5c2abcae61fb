// Weight files in and out for `flm convert` and `--init`: a safetensors file, or a torch.save file
// (.ckpt / .pt / .bin) through the guarded pickle import, recognised by its first bytes rather than its
// name. Lightning checkpoints nest the weights under `state_dict.`; that prefix (or a `module.` /
// `model.` wrapper) is stripped and everything outside it (optimizer_states.*, ...) is set aside.
// libtorch 1.13's unpickler cannot read a Lightning .ckpt as Python writes it (OrderedDict state_dict,
// one-entry dicts); the errors then say how to re-save the weights once (dict(c['state_dict'])).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, tidy } from '../tensor/index.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';
import { loadTorchFile, PickleRefusedError } from './torch-pickle.js';

export class ConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConvertError';
  }
}

export interface WeightsFile {
  path: string;
  format: 'safetensors' | 'torch.save';
  /** tensors by name, prefix stripped; the caller owns (and disposes) them */
  tensors: Map<string, Tensor>;
  /** safetensors `__metadata__` (empty for torch.save files) */
  metadata: Record<string, string>;
  /** the prefix stripped from every kept name ('' for none) */
  strippedPrefix: string;
  /** names outside the weights (e.g. Lightning's optimizer_states.*), already freed */
  ignored: string[];
}

const RESAVE_HINT =
  'convert the Lightning checkpoint once in Python, e.g. ' +
  `python -c "import torch; c = torch.load('flm.ckpt', map_location='cpu'); torch.save(dict(c['state_dict']), 'flm.pt')" ` +
  '(or safetensors.torch.save_file(c[\'state_dict\'], \'flm.safetensors\'))';

function sniff(path: string): 'zip' | 'legacy-pickle' | 'other' {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
    if (n >= 1 && head[0] === 0x80) return 'legacy-pickle';
    return 'other';
  } finally {
    closeSync(fd);
  }
}

/** `state_dict.` (Lightning), or one `module.` / `model.` wrapper around every name; '' if none. */
function weightsPrefix(names: string[]): string {
  if (names.some((n) => n.startsWith('state_dict.'))) return 'state_dict.';
  for (const p of ['module.', 'model.']) if (names.length && names.every((n) => n.startsWith(p))) return p;
  return '';
}

/**
 * Reads the tensors of a weight file (or of `DIR/model.safetensors` when given a folder). torch.save
 * files are refused unless `allowPickle`. Errors name the file and say what to do.
 */
export function readWeightsFile(path: string, o: { allowPickle?: boolean } = {}): WeightsFile {
  if (!existsSync(path)) throw new ConvertError(`${path}: no such file`);
  if (statSync(path).isDirectory()) {
    const inner = join(path, 'model.safetensors');
    if (!existsSync(inner)) throw new ConvertError(`${path} is a folder without model.safetensors`);
    return readWeightsFile(inner, o);
  }
  const kind = sniff(path);
  if (kind === 'legacy-pickle') {
    throw new ConvertError(`${path}: a legacy (pre-1.6, non-zip) torch.save file, which libtorch cannot read: re-save it with a current torch.save, or as safetensors`);
  }
  let all: Map<string, Tensor>;
  let metadata: Record<string, string> = {};
  if (kind === 'zip') {
    try {
      all = loadTorchFile(path, { allowPickle: o.allowPickle ?? false });
    } catch (e) {
      if (e instanceof PickleRefusedError) {
        throw new ConvertError(`${path} is a torch.save (pickle) file: refusing to unpickle it without --allow-pickle (allowPickle: true); pickle is unsafe for untrusted files, prefer safetensors`);
      }
      const msg = e instanceof Error ? e.message : String(e);
      // libtorch 1.13's unpickler reads neither the OrderedDict-with-_metadata of a module state_dict
      // nor the SETITEM opcode Python emits for one-entry dicts (Lightning's hyper_parameters =
      // {config: ...}, optimizer state): a released .ckpt needs the one-time re-save below
      if (/state_dict|GenericDict/.test(msg)) throw new ConvertError(`${msg}; ${RESAVE_HINT}`);
      if (/Unknown opcode|unsupported pickle opcode/.test(msg)) {
        throw new ConvertError(`${msg} — libtorch's unpickler cannot read every Python pickle (one-entry dicts such as Lightning's hyper_parameters, optimizer states); ${RESAVE_HINT}`);
      }
      throw new ConvertError(msg);
    }
  } else {
    try {
      const st = loadSafetensors(path);
      all = st.tensors;
      metadata = st.metadata;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new ConvertError(msg.includes(path) ? `${msg} (expected safetensors or a torch.save zip file)` : `${path}: ${msg}`);
    }
  }
  const prefix = weightsPrefix([...all.keys()]);
  const tensors = new Map<string, Tensor>();
  const ignored: string[] = [];
  for (const [name, t] of all) {
    if (name.startsWith(prefix)) tensors.set(name.slice(prefix.length), t);
    else {
      ignored.push(name);
      t.dispose();
    }
  }
  if (tensors.size === 0) {
    throw new ConvertError(`${path}: holds no tensors${ignored.length ? ` under ${prefix}` : ''}${kind === 'zip' ? ` (${RESAVE_HINT})` : ''}`);
  }
  return { path, format: kind === 'zip' ? 'torch.save' : 'safetensors', tensors, metadata, strippedPrefix: prefix, ignored };
}

/** Frees every tensor of a map. */
export function disposeAll(m: Map<string, Tensor>): void {
  for (const t of m.values()) t.dispose();
}

const ITEM_SIZE: Partial<Record<string, number>> = { int64: 8, float64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2, int16: 2 };
const itemSize = (t: Tensor): number => ITEM_SIZE[t.dtype] ?? 1;

/**
 * Writes a model state dict (every name, aliases included) as safetensors in the layout of the fixture
 * weight files: larger element sizes first (8-byte dtypes, then 4-byte, ...), otherwise state_dict
 * order, so every tensor is aligned to its element size.
 */
export function writeModelWeights(path: string, sd: Map<string, Tensor>, metadata: Record<string, string>): void {
  const entries = [...sd].sort((a, b) => itemSize(b[1]) - itemSize(a[1]));
  // tidy: saveSafetensors' detached CPU copies are freed here, not left to the garbage collector
  tidy(() => saveSafetensors(path, entries, { format: 'pt', ...metadata }));
}
