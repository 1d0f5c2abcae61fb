// The tokenizer of a run built from scratch: a given tokenizer.json (copied into the run folder), or a
// byte-level BPE trained on the data's captions (saved in the run folder); a resumed run reads it back.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PRESETS } from '../../models/index.js';
import { TextTokenizer } from '../../data/tokenizer.js';
import { trainTokenizer } from '../../data/tokenizer-train.js';
import { iterateIndexed, type DatasetSource, type SourceEntry } from '../../data/types.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { TrainConfigError } from '../../train/errors.js';

async function captionCorpus(src: DatasetSource, limit: number): Promise<string[]> {
  const out: string[] = [];
  const it = src.kind === 'indexed' ? iterateIndexed(src) : src[Symbol.asyncIterator]();
  for (;;) {
    const n = await (it as AsyncIterator<SourceEntry>).next();
    if (n.done) break;
    if (n.value.ok) out.push(...n.value.item.captions);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * The run's tokenizer. `reuse` (a resumed run, or a rank reading what rank 0 wrote): the run folder's
 * tokenizer.json. Otherwise `given` (default: the `tokenizer` setting) copied into the run folder, or a
 * BPE trained on the data's captions, so a new run in a used folder never inherits an older run's.
 */
export async function runTokenizer(
  c: { out: string; data: string; tokenizer: string | null; vocabSize: number | null; preset: keyof typeof PRESETS }, src: DatasetSource, maxLength: number,
  o: { given?: string | null; reuse?: boolean } = {},
): Promise<TextTokenizer> {
  const inRun = join(c.out, 'tokenizer.json');
  if (o.reuse && existsSync(inRun)) return TextTokenizer.fromFile(inRun, { maxLength });
  const given = o.given === undefined ? c.tokenizer : o.given;
  if (given) {
    const tok = await TextTokenizer.fromFile(resolve(given), { maxLength });
    writeFileAtomic(inRun, readFileSync(resolve(given)));
    return tok;
  }
  const corpus = await captionCorpus(src, 200_000);
  if (corpus.length === 0) throw new TrainConfigError(`${c.data}: no captions to train a tokenizer on`);
  // byte-level BPE needs its 256-symbol alphabet plus room for merges
  const json = await trainTokenizer(corpus, { kind: 'bpe', vocabSize: c.vocabSize ?? Math.max(PRESETS[c.preset].vocab_size, 384) });
  writeFileAtomic(inRun, JSON.stringify(json));
  return TextTokenizer.fromFile(inRun, { maxLength });
}
