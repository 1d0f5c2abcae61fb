// Loading a weights file into a model by name, as the official loader does (strict=False, spec B.11):
// every tensor whose name and shape match is copied; the model's own init stays everywhere else. On
// the way the tensors are adapted to the model:
//   - vit_model.visual.positional_embedding is resized bicubically to the model's image size (B.1);
//   - a 2-row token_type_embeddings grows to the NLVR2 model's 3 rows (row 2 := row 1, B.7);
//   - vocabulary rows (word embeddings, LM-head decoder and bias) beyond the file's vocabulary are
//     drawn from N(0, 0.02) when the model's vocabulary is larger (adapt_vocab_size, B.11).
// Used by `flm convert --official` and by pretraining's `--init <model.safetensors>`.
import { F, Tensor, empty, noGrad, tidy } from '../tensor/index.js';
import { normal_ } from '../nn/init.js';
import { loadOfficialWeights, type AnyFLMModel } from '../models/index.js';
import { disposeAll, readWeightsFile } from '../io/weights-file.js';

export interface WeightsLoadReport {
  /** distinct model tensors that took a value from the file (an alias group counts once) */
  loaded: number;
  /** model names the file lacks (they keep the model's init); one name per tensor, aliases not repeated */
  missing: string[];
  /** file names the model does not have (not used) */
  unexpected: string[];
  /** 'name: file [..] vs model [..]' (not loaded; the model's init stays) */
  shapeMismatch: string[];
  /** alias names whose tensor differs from the first name of the same module (the first one was loaded) */
  aliasConflicts: string[];
  /** tensors changed to fit: positional-embedding resize, NLVR2 token types, vocabulary growth */
  adapted: string[];
}

export interface InitWeightsReport extends WeightsLoadReport {
  source: string;
}

const VOCAB_KEY = /(^|\.)word_embeddings\.weight$|(^|\.)(lm_score|lm_score_r|lm_score_f|mlm_score)\.(decoder\.weight|bias)$/;

/**
 * adapt_vocab_size: file tensors with fewer vocabulary rows than the model get N(0, 0.02) rows
 * appended. Names of one alias group holding the same tensor share the same new rows. Returns the
 * replaced map entries and the tensors it created (the caller frees them).
 */
export function growVocabulary(model: AnyFLMModel, tensors: Map<string, Tensor>): { tensors: Map<string, Tensor>; adapted: string[]; created: Tensor[] } {
  const own = model.stateDict();
  const vocab = model.config.vocab_size;
  const out = new Map(tensors);
  const adapted: string[] = [];
  const created: Tensor[] = [];
  const grown = new Map<Tensor, { from: Tensor; to: Tensor }>();
  noGrad(() => {
    for (const [name, src] of tensors) {
      const target = own.get(name);
      if (!target || !VOCAB_KEY.test(name) || target.shape[0] !== vocab || src.ndim !== target.ndim) continue;
      const rows = src.shape[0]!;
      if (rows >= vocab || src.shape.slice(1).some((d, i) => d !== target.shape[i + 1])) continue;
      const prev = grown.get(target);
      if (prev && tidy(() => prev.from.equal(src))) {
        out.set(name, prev.to);
        continue;
      }
      const to = tidy(() => F.cat([src.to(target.dtype), normal_(empty([vocab - rows, ...src.shape.slice(1)], { dtype: target.dtype }), 0, 0.02)], 0));
      created.push(to);
      if (!prev) grown.set(target, { from: src, to });
      out.set(name, to);
      adapted.push(`${name}: vocabulary ${rows} -> ${vocab} rows (new rows N(0, 0.02))`);
    }
  });
  return { tensors: out, adapted, created };
}

/** Keeps the first of several names of one tensor (aliases), in order. */
export function firstNames(model: AnyFLMModel, names: string[]): string[] {
  const own = model.stateDict();
  const seen = new Set<Tensor>();
  return names.filter((n) => {
    const t = own.get(n);
    if (t === undefined) return true;
    if (seen.has(t)) return false;
    seen.add(t);
    return true;
  });
}

/** Non-strict load by name with the adaptations above; never throws for mismatches, reports them. */
export function loadWeightsByName(model: AnyFLMModel, tensors: Map<string, Tensor>): WeightsLoadReport {
  const grow = growVocabulary(model, tensors);
  try {
    // tidy: the positional-embedding resize inside makes temporaries it does not free itself
    const r = tidy(() => loadOfficialWeights(model, grow.tensors, { strict: false }));
    const own = model.stateDict();
    const mismatched = new Set(r.shapeMismatch.map((m) => m.name));
    const loaded = new Set<Tensor>();
    for (const name of grow.tensors.keys()) {
      const t = own.get(name);
      if (t && !mismatched.has(name)) loaded.add(t);
    }
    return {
      loaded: loaded.size,
      missing: firstNames(model, r.missing),
      unexpected: r.unexpected,
      shapeMismatch: r.shapeMismatch.map((m) => `${m.name}: file [${m.got}] vs model [${m.expected}]`),
      aliasConflicts: r.aliasConflicts,
      adapted: [...r.adapted, ...grow.adapted],
    };
  } finally {
    for (const t of grow.created) t.dispose();
  }
}

/**
 * Initialises a model from a weights file (a flm `model.safetensors`, e.g. the output of
 * `flm convert`, or a folder holding one): non-strict by name, see the file comment. The tensors
 * read are freed before returning.
 */
export function loadInitWeights(model: AnyFLMModel, path: string): InitWeightsReport {
  const file = readWeightsFile(path);
  try {
    return { source: file.path, ...loadWeightsByName(model, file.tensors) };
  } finally {
    disposeAll(file.tensors);
  }
}

/** A few printable lines about an init load. */
export function formatInitWeightsReport(r: InitWeightsReport): string[] {
  const list = (xs: string[]): string => (xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, ... (${xs.length - 8} more)`);
  const lines = [`init: ${r.loaded} tensors from ${r.source}`];
  if (r.missing.length) lines.push(`init: missing (kept the fresh init) ${r.missing.length}: ${list(r.missing)}`);
  if (r.unexpected.length) lines.push(`init: unexpected (not used) ${r.unexpected.length}: ${list(r.unexpected)}`);
  if (r.shapeMismatch.length) lines.push(`init: shape mismatch (kept the fresh init) ${r.shapeMismatch.length}: ${list(r.shapeMismatch)}`);
  if (r.aliasConflicts.length) lines.push(`init: aliases that differ from their first name (ignored) ${r.aliasConflicts.length}: ${list(r.aliasConflicts)}`);
  for (const a of r.adapted) lines.push(`init: adapted ${a}`);
  return lines;
}
