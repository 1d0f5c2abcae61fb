// PyTorch `torch.save` files (zip + pickle) through libtorch's own unpickler. Pickle is unsafe for
// untrusted files (in Python it can run arbitrary code; libtorch's unpickler rebuilds only tensors and
// plain containers, but trusts its input: a malformed pickle crashes it and a storage that claims more
// bytes than its record holds reads process memory), so loading is refused unless the caller explicitly
// allows it, and every file is first checked in full (torch-pickle-check.ts: zip, opcodes, stack,
// memo, globals, storages against their records, views against their storages); the native loader
// checks the tensors it rebuilt against the records it read once more. Prefer safetensors.
import { readFileSync } from 'node:fs';
import { native, type NativeTensor } from '../native/binding.js';
import { Tensor, TorchError, keep } from '../tensor/index.js';
import { wrap } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { checkTorchFile } from './torch-pickle-check.js';

export class PickleRefusedError extends Error {
  constructor(path: string) {
    super(`${path}: refusing to unpickle a torch.save file without { allowPickle: true } (pickle is unsafe for untrusted files; prefer safetensors)`);
    this.name = 'PickleRefusedError';
  }
}

/**
 * Reads a torch.save file of (nested) plain dicts of tensors (libtorch 1.13 cannot unpickle the
 * OrderedDict-with-_metadata that nn.Module.state_dict() returns: save dict(state_dict) instead)
 * and returns its tensors by dotted name, e.g. `state_dict.text_transformer.embeddings.word_embeddings.weight`.
 */
export function loadTorchFile(path: string, o: { allowPickle?: boolean } = {}): Map<string, Tensor> {
  if (o.allowPickle !== true) throw new PickleRefusedError(path);
  const bytes = readFileSync(path);
  let pairs: [string, NativeTensor][];
  try {
    // the unpickler runs the very bytes that were checked, whatever libtorch's zip reader makes of the file
    pairs = native.pickleLoad(bytes, checkTorchFile(bytes).pickle);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // libtorch 1.13's unpickler cannot apply the `_metadata` state that nn.Module.state_dict() attaches
    // to its OrderedDict; a plain dict of the same tensors loads fine.
    const hint = /Expected GenericDict but got None/.test(msg)
      ? ' — this looks like an nn.Module state_dict (an OrderedDict with _metadata), which libtorch 1.13 cannot unpickle: save it as torch.save(dict(sd), path), or as safetensors'
      : '';
    throw new TorchError(`pickleLoad: ${path} is not a readable torch.save file (${msg.split('\n')[0]})${hint}`, 'pickleLoad');
  }
  return new Map(pairs.map(([name, h]) => [name, keep(wrap(h))]));
}

/** Writes named tensors as a torch.save-compatible file (a dict of tensors), atomically. */
export function saveTorchFile(path: string, tensors: Map<string, Tensor>): void {
  const names = [...tensors.keys()];
  const buf = native.pickleSave(names, names.map((n) => tensors.get(n)!.handle));
  writeFileAtomic(path, buf);
}
