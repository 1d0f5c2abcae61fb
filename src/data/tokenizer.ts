/**
 * Text tokenizer: any Hugging Face `tokenizer.json` (BERT WordPiece, RoBERTa byte-level BPE, ...) read
 * with @huggingface/tokenizers, plus what that library leaves to its callers: truncation to the max
 * text length, padding, attention and special-tokens masks, explicit special ids, and word ids for
 * whole-word masking.
 *
 * The module runs in browsers too (the in-browser library, src/web, tokenises with it): Node's file
 * system is imported only when `fromFile` is called.
 */
import { Tokenizer } from '@huggingface/tokenizers';

/** Special token strings; which ones a model uses is part of its config, never guessed at train time. */
export interface SpecialTokens {
  /** Sequence start: [CLS] (BERT) or <s> (RoBERTa). */
  cls: string;
  /** Sequence end: [SEP] or </s>. */
  sep: string;
  pad: string;
  mask: string;
  unk?: string;
}

export interface SpecialIds {
  cls: number;
  sep: number;
  pad: number;
  mask: number;
  unk: number | undefined;
}

export const BERT_SPECIAL_TOKENS: Readonly<Required<SpecialTokens>> = { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', mask: '[MASK]', unk: '[UNK]' };
export const ROBERTA_SPECIAL_TOKENS: Readonly<Required<SpecialTokens>> = { cls: '<s>', sep: '</s>', pad: '<pad>', mask: '<mask>', unk: '<unk>' };

export interface TokenizerOptions {
  /** Default max length (spec E.7: 50). */
  maxLength?: number;
  /** Explicit special tokens; when omitted, the BERT or RoBERTa set that the vocabulary contains. */
  specialTokens?: SpecialTokens;
}

export interface EncodedText {
  /** Token ids, padded with the pad id to `maxLength` (or unpadded when padding is off). */
  ids: Int32Array;
  attentionMask: Uint8Array;
  /** 1 at special tokens and pads (HF `return_special_tokens_mask`). */
  specialTokensMask: Uint8Array;
  /** Index of the word each token belongs to; -1 at special tokens and pads. */
  wordIds: Int32Array;
  /** Number of real (non-pad) tokens. */
  length: number;
  tokens: string[];
}

export interface EncodedBatch {
  /** [B, L] row-major. */
  ids: Int32Array;
  attentionMask: Uint8Array;
  specialTokensMask: Uint8Array;
  wordIds: Int32Array;
  lengths: Int32Array;
  shape: [number, number];
}

export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
}

interface AddedTokenJson {
  content: string;
  id: number;
  special?: boolean;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class TextTokenizer {
  readonly maxLength: number;
  readonly specialTokens: Readonly<SpecialTokens>;
  readonly specialIds: Readonly<SpecialIds>;
  /** Vocabulary size including added tokens (the embedding rows a model needs). */
  readonly vocabSize: number;
  /** 'wordpiece' when sub-words continue with a prefix (e.g. ##), 'bpe' otherwise. */
  readonly modelType: string;
  private readonly tok: Tokenizer;
  private readonly addedSplit: RegExp | null;
  private readonly addedContents: Set<string>;
  private readonly specialIdSet: Set<number>;
  /** Special tokens the post-processor puts before / after a single sequence. */
  private readonly prefix: string[];
  private readonly suffix: string[];
  private readonly subwordPrefix: string | null;

  constructor(json: unknown, opts: TokenizerOptions = {}) {
    if (!isRecord(json) || !isRecord(json.model)) throw new TokenizerError('not a Hugging Face tokenizer.json (no "model" object)');
    // Older tokenizer.json files may lack added_tokens, which the library iterates unconditionally.
    this.tok = new Tokenizer(Array.isArray(json.added_tokens) ? json : { ...json, added_tokens: [] }, {});
    this.maxLength = opts.maxLength ?? 50;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 2) throw new TokenizerError(`maxLength must be an integer >= 2, got ${this.maxLength}`);
    const model = json.model;
    this.modelType = String(model.type ?? 'unknown');
    this.subwordPrefix = typeof model.continuing_subword_prefix === 'string' && model.continuing_subword_prefix !== '' ? model.continuing_subword_prefix : null;
    const added = (Array.isArray(json.added_tokens) ? json.added_tokens : []).filter(isRecord) as unknown as AddedTokenJson[];
    this.addedContents = new Set(added.map((a) => a.content));
    const byLength = [...this.addedContents].sort((a, b) => b.length - a.length).map(escapeRegex);
    this.addedSplit = byLength.length > 0 ? new RegExp(`(${byLength.join('|')})`) : null;
    this.specialIdSet = new Set(added.filter((a) => a.special === true).map((a) => a.id));

    this.specialTokens = Object.freeze({ ...(opts.specialTokens ?? this.detectSpecialTokens()) });
    const id = (name: keyof SpecialTokens, required: boolean): number | undefined => {
      const t = this.specialTokens[name];
      if (t === undefined) return undefined;
      const v = this.tok.token_to_id(t);
      if (v === undefined && required) throw new TokenizerError(`special token ${name}="${t}" is not in the vocabulary`);
      return v;
    };
    this.specialIds = Object.freeze({
      cls: id('cls', true) as number, sep: id('sep', true) as number, pad: id('pad', true) as number,
      mask: id('mask', true) as number, unk: id('unk', false),
    });
    for (const k of ['cls', 'sep', 'pad', 'mask'] as const) this.specialIdSet.add(this.specialIds[k]);
    this.vocabSize = this.tok.get_vocab(true).size;

    // Find where the post-processor puts the sequence by running it on a sentinel token.
    const sentinel = '\u{E000}sentinel';
    const pp = this.tok.post_processor;
    const wrapped = pp === null ? [this.specialTokens.cls, sentinel, this.specialTokens.sep] : pp([sentinel], null, true).tokens;
    const at = wrapped.indexOf(sentinel);
    this.prefix = wrapped.slice(0, at);
    this.suffix = wrapped.slice(at + 1);
    if (this.prefix.length + this.suffix.length >= this.maxLength) throw new TokenizerError(`maxLength ${this.maxLength} leaves no room for text`);
  }

  static async fromFile(path: string, opts: TokenizerOptions = {}): Promise<TextTokenizer> {
    const { readFile } = await import('node:fs/promises');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new TokenizerError(`cannot read tokenizer file ${path}: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TokenizerError(`${path} is not valid JSON: ${(e as Error).message}`);
    }
    return new TextTokenizer(json, opts);
  }

  private detectSpecialTokens(): SpecialTokens {
    for (const set of [BERT_SPECIAL_TOKENS, ROBERTA_SPECIAL_TOKENS]) {
      if ([set.cls, set.sep, set.pad, set.mask].every((t) => this.tok.token_to_id(t) !== undefined)) return { ...set };
    }
    throw new TokenizerError('cannot tell the special tokens (no [CLS]/[SEP]/[PAD]/[MASK] nor <s>/</s>/<pad>/<mask>): give specialTokens explicitly');
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  isSpecialId(id: number): boolean {
    return this.specialIdSet.has(id);
  }

  /** Tokens of the text without special tokens and without truncation. */
  tokenize(text: string): string[] {
    return this.tok.tokenize(text, { add_special_tokens: false });
  }

  /**
   * Word index per content token. Words are what the pre-tokenizer splits (so "dog." is two words
   * under both BERT and byte-level pre-tokenizers); an added token such as <bos> is its own word.
   */
  wordIds(text: string, tokens: readonly string[] = this.tokenize(text)): number[] {
    const { normalizer, pre_tokenizer: pre, model } = this.tok;
    if (model === null) return tokens.map((_, i) => i);
    const sections = this.addedSplit === null ? [text] : text.split(this.addedSplit);
    const pieces: string[] = [];
    const words: number[] = [];
    let w = 0;
    sections.forEach((section, sectionIndex) => {
      if (section.length === 0) return;
      if (this.addedContents.has(section)) {
        pieces.push(section);
        words.push(w++);
        return;
      }
      const normalized = normalizer === null ? section : normalizer(section);
      const preTokens = pre === null ? [normalized] : pre(normalized, { section_index: sectionIndex });
      for (const p of preTokens) {
        const sub = model([p]);
        if (sub.length === 0) continue;
        for (const s of sub) {
          pieces.push(s);
          words.push(w);
        }
        w++;
      }
    });
    if (pieces.length === tokens.length && pieces.every((p, i) => p === tokens[i])) return words;
    return this.heuristicWordIds(tokens);
  }

  /** Fallback when the per-word re-tokenization disagrees (lstrip/rstrip added tokens and the like). */
  private heuristicWordIds(tokens: readonly string[]): number[] {
    let w = -1;
    return tokens.map((t, i) => {
      const continues = i > 0 && !this.addedContents.has(t) && (this.subwordPrefix !== null ? t.startsWith(this.subwordPrefix) : !t.startsWith('\u0120'));
      if (!continues) w++;
      return w;
    });
  }

  /**
   * Encode one text: content tokens truncated to `maxLength` minus the special tokens, special tokens
   * added by the tokenizer's post-processor, then padded to `maxLength` unless `pad` is false.
   */
  encode(text: string, opts: { maxLength?: number; pad?: boolean } = {}): EncodedText {
    const maxLength = opts.maxLength ?? this.maxLength;
    const room = maxLength - this.prefix.length - this.suffix.length;
    if (room < 1) throw new TokenizerError(`maxLength ${maxLength} leaves no room for text`);
    // only the first `room` tokens are kept: a bounded prefix yields them, however long the text
    const head = text.length > maxLength * 64 ? text.slice(0, maxLength * 64) : text;
    const all = this.tokenize(head);
    const allWords = this.wordIds(head, all);
    const content = all.slice(0, room);
    const tokens = [...this.prefix, ...content, ...this.suffix];
    const length = tokens.length;
    const total = opts.pad === false ? length : maxLength;
    const ids = new Int32Array(total).fill(this.specialIds.pad);
    const attentionMask = new Uint8Array(total);
    const specialTokensMask = new Uint8Array(total).fill(1);
    const wordIds = new Int32Array(total).fill(-1);
    const unk = this.specialIds.unk ?? 0;
    for (let i = 0; i < length; i++) {
      const t = tokens[i] as string;
      ids[i] = this.tok.token_to_id(t) ?? unk;
      attentionMask[i] = 1;
      const c = i - this.prefix.length;
      if (c >= 0 && c < content.length) {
        specialTokensMask[i] = ids[i] !== this.specialIds.unk && this.addedContents.has(t) && this.specialIdSet.has(ids[i] as number) ? 1 : 0;
        wordIds[i] = allWords[c] as number;
      }
    }
    return { ids, attentionMask, specialTokensMask, wordIds, length, tokens };
  }

  /** Encode several texts into [B, L] arrays, always padded to `maxLength`. */
  encodeBatch(texts: readonly string[], maxLength: number = this.maxLength): EncodedBatch {
    const b = texts.length;
    const out: EncodedBatch = {
      ids: new Int32Array(b * maxLength), attentionMask: new Uint8Array(b * maxLength),
      specialTokensMask: new Uint8Array(b * maxLength), wordIds: new Int32Array(b * maxLength),
      lengths: new Int32Array(b), shape: [b, maxLength],
    };
    texts.forEach((t, i) => {
      const e = this.encode(t, { maxLength });
      out.ids.set(e.ids, i * maxLength);
      out.attentionMask.set(e.attentionMask, i * maxLength);
      out.specialTokensMask.set(e.specialTokensMask, i * maxLength);
      out.wordIds.set(e.wordIds, i * maxLength);
      out.lengths[i] = e.length;
    });
    return out;
  }

  decode(ids: ArrayLike<number>, opts: { skipSpecialTokens?: boolean } = {}): string {
    const list = Array.from(ids).filter((id) => id !== this.specialIds.pad || opts.skipSpecialTokens !== true);
    if (list.length === 0) return '';
    return this.tok.decode(list, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }
}
