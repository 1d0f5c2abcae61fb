/**
 * Entry points for the CLI: `flm data inspect SPEC [--json]` and `flm tokenizer train`.
 * Each returns the process exit code and prints its own errors.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatInspectReport, inspectDataset } from './inspect.js';
import { DATASET_SCHEMES, openDataset } from './spec.js';
import { preprocessText } from './text.js';
import { TextTokenizer } from './tokenizer.js';
import { trainTokenizer, type TokenizerKind } from './tokenizer-train.js';
import { DataError } from './types.js';

function report(e: unknown): number {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  return e instanceof DataError ? 2 : 1;
}

/** Exit code 0 when at least one item is usable, 1 when none is, 2 when the spec cannot be opened. */
export async function dataInspectCommand(spec: string, o: { json: boolean; decode?: boolean }): Promise<number> {
  try {
    const r = await inspectDataset(spec, {
      ...(o.decode !== undefined ? { decode: o.decode } : {}),
      ...(o.json ? {} : { onProgress: (n: number) => process.stderr.write(`\r${n} items read`), progressEvery: 10000 }),
    });
    if (!o.json && r.items + r.failed >= 10000) process.stderr.write('\n');
    if (o.json) {
      // the CLI's one --json shape (docs/json.md): {command, metrics, ...}
      const metrics = { items: r.items, images: r.images, captions: r.captions, failed: r.failed, seconds: r.seconds };
      console.log(JSON.stringify({ command: 'data inspect', metrics, ...metrics, failures: r.failures, splits: r.splits, kind: r.kind, textKind: r.textKind }));
    } else {
      console.log(formatInspectReport(r));
    }
    if (r.items === 0) {
      if (!o.json) console.error(`error: nothing in ${spec} could be read (${r.failed} failures)`);
      return 1;
    }
    return 0;
  } catch (e) {
    return report(e);
  }
}

export interface TokenizerTrainOptions {
  /**
   * Dataset specs (their captions are the corpus) or text files (one text per line). A string that
   * starts with a dataset scheme (e.g. `karpathy:`) or names a .json/.jsonl/.csv/.tsv/.tar/.arrow file
   * is a dataset; anything else is read as text.
   */
  corpus: string[] | string;
  vocabSize: number;
  kind: TokenizerKind;
  out: string;
  minFrequency?: number;
  lowercase?: boolean;
  extraSpecialTokens?: string[];
}

function isDatasetSpec(s: string): boolean {
  const scheme = s.slice(0, Math.max(0, s.indexOf(':')));
  return (DATASET_SCHEMES as readonly string[]).includes(scheme) || /\.(json|jsonl|csv|tsv|tar|arrow)(\?.*)?$/i.test(s);
}

async function* corpusLines(inputs: readonly string[]): AsyncGenerator<string> {
  for (const input of inputs) {
    if (isDatasetSpec(input)) {
      const src = await openDataset(input);
      try {
        for await (const e of src) {
          if (!e.ok) continue;
          for (const c of e.item.captions) yield preprocessText(c, src.textKind);
        }
      } finally {
        await src.close?.();
      }
    } else {
      let text: string;
      try {
        text = await readFile(input, 'utf8');
      } catch {
        throw new DataError(`corpus file ${input} not found`);
      }
      for (const line of text.split('\n')) if (line.trim() !== '') yield line;
    }
  }
}

export async function tokenizerTrainCommand(o: TokenizerTrainOptions): Promise<number> {
  try {
    const inputs = typeof o.corpus === 'string' ? [o.corpus] : o.corpus;
    if (inputs.length === 0) throw new DataError('no corpus given');
    if (o.kind !== 'wordpiece' && o.kind !== 'bpe') throw new DataError(`unknown tokenizer kind "${String(o.kind)}" (wordpiece or bpe)`);
    const t0 = performance.now();
    let lines = 0;
    const counted = (async function* () {
      for await (const l of corpusLines(inputs)) {
        lines++;
        yield l;
      }
    })();
    const json = await trainTokenizer(counted, {
      kind: o.kind, vocabSize: o.vocabSize,
      ...(o.minFrequency !== undefined ? { minFrequency: o.minFrequency } : {}),
      ...(o.lowercase !== undefined ? { lowercase: o.lowercase } : {}),
      ...(o.extraSpecialTokens !== undefined ? { extraSpecialTokens: o.extraSpecialTokens } : {}),
    });
    if (lines === 0) throw new DataError('the corpus is empty');
    await mkdir(dirname(o.out), { recursive: true });
    await writeFile(o.out, `${JSON.stringify(json, null, 2)}\n`);
    const tok = await TextTokenizer.fromFile(o.out);
    console.log(`${o.kind} tokenizer with ${tok.vocabSize} tokens trained on ${lines} texts in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${o.out}`);
    console.log(`special tokens: ${Object.entries(tok.specialTokens).map(([k, v]) => `${k}=${v}(${String(tok.tokenToId(v) ?? '?')})`).join(' ')}`);
    return 0;
  } catch (e) {
    return report(e);
  }
}
