/**
 * Train a small WordPiece (BERT-style) or byte-level BPE (RoBERTa-style) vocabulary from a corpus and
 * write it as a Hugging Face tokenizer.json that `TextTokenizer` (and HF tokenizers) read back.
 *
 * Written here because @huggingface/tokenizers is encode/decode only (it has no trainer), the napi
 * `tokenizers` package is encode-only too, and nothing else on npm writes HF-compatible vocabularies.
 * The corpus is normalised and pre-tokenised by the library itself (from the same JSON skeleton we
 * write), so training and encoding see identical words. The merge loop follows HF's BpeTrainer
 * (WordPieceTrainer is BpeTrainer with a "##" continuation prefix): count adjacent symbol pairs
 * weighted by word frequency, merge the most frequent (ties: the lexicographically smallest result),
 * update only the words that contain it.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { BERT_SPECIAL_TOKENS, ROBERTA_SPECIAL_TOKENS } from './tokenizer.js';

export type TokenizerKind = 'wordpiece' | 'bpe';

export interface TrainTokenizerOptions {
  kind: TokenizerKind;
  /** Target vocabulary size, special tokens and the initial alphabet included. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
  /** WordPiece only: lowercase and strip accents like bert-base-uncased (default true). */
  lowercase?: boolean;
  /** Extra added tokens (e.g. "<bos>", "<eos>" for captioning), appended after the vocabulary. */
  extraSpecialTokens?: string[];
}

type Json = Record<string, unknown>;

const addedToken = (content: string, id: number): Json => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});

function wordpieceSkeleton(lowercase: boolean): Json {
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: [],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: lowercase ? null : false, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: { '[UNK]': 0 } },
  };
}

function bpeSkeleton(): Json {
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [],
    },
  };
}

/** GPT-2's byte -> printable character map (the byte-level alphabet, 256 symbols). */
function byteAlphabet(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return cs.map((c) => String.fromCodePoint(c));
}

/** Max-heap of candidate merges with lazy deletion (stale entries are skipped on pop). */
class MergeHeap {
  private readonly items: Array<{ count: number; key: number; text: string }> = [];

  private better(i: number, j: number): boolean {
    const a = this.items[i] as { count: number; text: string };
    const b = this.items[j] as { count: number; text: string };
    return a.count > b.count || (a.count === b.count && a.text < b.text);
  }

  private swap(i: number, j: number): void {
    const t = this.items[i] as (typeof this.items)[number];
    this.items[i] = this.items[j] as (typeof this.items)[number];
    this.items[j] = t;
  }

  push(count: number, key: number, text: string): void {
    this.items.push({ count, key, text });
    let i = this.items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { count: number; key: number; text: string } | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.items.length > 0) {
      this.items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.items.length && this.better(l, m)) m = l;
        if (r < this.items.length && this.better(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

const PAIR = 1 << 21;

/** The BPE merge loop over word counts. Returns symbols in vocabulary order and the merges made. */
function learnMerges(
  wordCounts: Map<string, number>, alphabet: string[], initial: (word: string) => string[],
  join: (a: string, b: string) => string, budget: number, minFrequency: number,
): { symbols: string[]; merges: Array<[string, string]> } {
  const symbols: string[] = [...alphabet];
  const ids = new Map(symbols.map((s, i) => [s, i]));
  const idOf = (s: string): number => {
    let i = ids.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      ids.set(s, i);
    }
    return i;
  };
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, f] of wordCounts) {
    words.push(initial(w).map(idOf));
    freqs.push(f);
  }
  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const heap = new MergeHeap();
  const text = (key: number): string => join(symbols[Math.floor(key / PAIR)] as string, symbols[key % PAIR] as string);
  const touched = new Set<number>();
  const addPairs = (wi: number, sign: number): void => {
    const w = words[wi] as number[];
    const f = (freqs[wi] as number) * sign;
    for (let k = 0; k + 1 < w.length; k++) {
      const key = (w[k] as number) * PAIR + (w[k + 1] as number);
      counts.set(key, (counts.get(key) ?? 0) + f);
      if (sign > 0) {
        let s = where.get(key);
        if (s === undefined) where.set(key, (s = new Set()));
        s.add(wi);
      }
      touched.add(key);
    }
  };
  const flush = (): void => {
    for (const key of touched) {
      const c = counts.get(key) ?? 0;
      if (c >= minFrequency) heap.push(c, key, text(key));
    }
    touched.clear();
  };
  words.forEach((_, wi) => addPairs(wi, 1));
  flush();

  const merges: Array<[string, string]> = [];
  while (symbols.length < budget) {
    const top = heap.pop();
    if (top === undefined) break;
    if (counts.get(top.key) !== top.count) continue;
    const a = Math.floor(top.key / PAIR);
    const b = top.key % PAIR;
    const merged = idOf(top.text);
    merges.push([symbols[a] as string, symbols[b] as string]);
    for (const wi of where.get(top.key) ?? []) {
      const w = words[wi] as number[];
      addPairs(wi, -1);
      const out: number[] = [];
      for (let k = 0; k < w.length; k++) {
        if (k + 1 < w.length && w[k] === a && w[k + 1] === b) {
          out.push(merged);
          k++;
        } else out.push(w[k] as number);
      }
      words[wi] = out;
      addPairs(wi, 1);
    }
    where.delete(top.key);
    counts.delete(top.key);
    touched.delete(top.key);
    flush();
  }
  return { symbols, merges };
}

async function countWords(corpus: Iterable<string> | AsyncIterable<string>, preTokenize: (s: string) => string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const line of corpus) {
    for (const w of preTokenize(line)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

/** Train a vocabulary and return the tokenizer.json object. */
export async function trainTokenizer(corpus: Iterable<string> | AsyncIterable<string>, opts: TrainTokenizerOptions): Promise<Json> {
  const minFrequency = opts.minFrequency ?? 2;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 1) throw new Error(`vocabSize must be a positive integer, got ${opts.vocabSize}`);
  const wordpiece = opts.kind === 'wordpiece';
  const skeleton = wordpiece ? wordpieceSkeleton(opts.lowercase ?? true) : bpeSkeleton();
  const lib = new Tokenizer(skeleton, {});
  const preTokenize = (s: string): string[] => {
    const n = lib.normalizer === null ? s : lib.normalizer(s);
    return lib.pre_tokenizer === null ? [n] : lib.pre_tokenizer(n);
  };
  const wordCounts = await countWords(corpus, preTokenize);
  const sp = wordpiece ? BERT_SPECIAL_TOKENS : ROBERTA_SPECIAL_TOKENS;
  // Id order of the originals: [PAD] [UNK] [CLS] [SEP] [MASK] for BERT-style, <s> <pad> </s> <unk> <mask> for RoBERTa-style.
  const specials = wordpiece ? [sp.pad, sp.unk, sp.cls, sp.sep, sp.mask] : [sp.cls, sp.pad, sp.sep, sp.unk, sp.mask];
  const extra = (opts.extraSpecialTokens ?? []).filter((t) => !specials.includes(t));
  const budget = opts.vocabSize - specials.length - extra.length;

  let alphabet: string[];
  let initial: (w: string) => string[];
  let join: (a: string, b: string) => string;
  if (wordpiece) {
    const chars = new Set<string>();
    for (const w of wordCounts.keys()) [...w].forEach((c, i) => chars.add(i === 0 ? c : `##${c}`));
    alphabet = [...chars].sort();
    initial = (w) => [...w].map((c, i) => (i === 0 ? c : `##${c}`));
    join = (a, b) => a + (b.startsWith('##') ? b.slice(2) : b);
  } else {
    alphabet = byteAlphabet().sort();
    initial = (w) => [...w];
    join = (a, b) => a + b;
  }
  if (budget < alphabet.length) throw new Error(`vocabSize ${opts.vocabSize} is smaller than the special tokens plus the ${alphabet.length}-symbol alphabet`);
  const { symbols, merges } = learnMerges(wordCounts, alphabet, initial, join, budget, minFrequency);

  const vocab: Record<string, number> = {};
  const all = [...specials.slice(0, wordpiece ? specials.length : 4), ...symbols];
  if (!wordpiece) all.push(sp.mask); // RoBERTa keeps <mask> as the last id.
  all.push(...extra);
  all.forEach((t, i) => {
    vocab[t] = i;
  });
  const added = [...specials, ...extra].map((t) => addedToken(t, vocab[t] as number)).sort((a, b) => (a.id as number) - (b.id as number));
  const model = skeleton.model as Json;
  skeleton.added_tokens = added;
  if (wordpiece) {
    model.vocab = vocab;
    skeleton.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: sp.cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sp.sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: sp.cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sp.sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: sp.sep, type_id: 1 } },
      ],
      special_tokens: Object.fromEntries([sp.cls, sp.sep].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }])),
    };
  } else {
    model.vocab = vocab;
    model.merges = merges.map(([a, b]) => `${a} ${b}`);
    skeleton.post_processor = { type: 'RobertaProcessing', sep: [sp.sep, vocab[sp.sep]], cls: [sp.cls, vocab[sp.cls]], trim_offsets: true, add_prefix_space: false };
  }
  return skeleton;
}
