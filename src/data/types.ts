/**
 * The shared vocabulary of the data layer: where an image comes from, what one dataset item holds,
 * and the two kinds of source (random access, or a stream of shards).
 */

/** Where the pixels of one image are. Every variant is structured-clone safe (it crosses to workers). */
export type ImageRef =
  | { kind: 'path'; path: string }
  | { kind: 'bytes'; bytes: Uint8Array; origin: string }
  /** Interleaved 8-bit RGB, HWC, row-major. */
  | { kind: 'raw'; data: Uint8Array; width: number; height: number; origin: string }
  /** Rendered on demand (in the worker) by a procedural generator; `args` are its parameters. */
  | { kind: 'synthetic'; generator: 'shapes'; args: SyntheticArgs; origin: string };

export type SyntheticArgs = Readonly<Record<string, number | string>>;

/** What the texts of a source are; captions are preprocessed (spec E.4), questions and statements are not. */
export type TextKind = 'caption' | 'question' | 'statement';

export interface VqaAnswerCount {
  answer: string;
  count: number;
}

export interface VqaMeta {
  task: 'vqa';
  questionId: number;
  imageId: number;
  /** Answers of the annotators, grouped and counted (empty for test splits). */
  answers: VqaAnswerCount[];
  multipleChoiceAnswer?: string;
  answerType?: string;
  questionType?: string;
}

export interface Nlvr2Meta {
  task: 'nlvr2';
  identifier: string;
  label: boolean | null;
  /** The kind of statement where the data says (the shapes world: exists/<images>, count/<images>, relation/<images>, compare, total). */
  statementType?: string;
}

export type ItemMeta = VqaMeta | Nlvr2Meta | Readonly<Record<string, unknown>>;

export interface DataItem {
  /** Stable id of the item within its source. */
  key: string;
  /** One image for most tasks, two for NLVR2. */
  images: ImageRef[];
  /** Raw texts (captions, one question, one statement). */
  captions: string[];
  split?: string;
  meta?: ItemMeta;
}

/** A source yields entries: an item, or the reason one could not be read (never a throw for bad data). */
export type SourceEntry =
  | { ok: true; item: DataItem }
  | { ok: false; key: string; reason: string };

interface SourceBase {
  /** The spec or path it was opened from (for messages). */
  readonly name: string;
  readonly textKind: TextKind;
  /** Images per item: 1, or 2 for NLVR2. */
  readonly imagesPerItem: number;
  /** Problems found while opening (unreadable rows, missing shards); counted by inspect. */
  readonly openFailures: ReadonlyArray<{ key: string; reason: string }>;
  [Symbol.asyncIterator](): AsyncIterator<SourceEntry>;
  close?(): Promise<void>;
}

/** Random access: metadata in memory, images read lazily. */
export interface IndexedSource extends SourceBase {
  readonly kind: 'indexed';
  readonly length: number;
  /** Caption count of item i without reading its image (for (image, caption) pair expansion). */
  captionCount(i: number): number;
  get(i: number): Promise<SourceEntry>;
  /**
   * Consecutive index ranges that are cheap to read together (Arrow record batches). When present,
   * the loader shuffles blocks and rows within a block instead of all rows globally.
   */
  readonly blocks?: ReadonlyArray<number>;
}

/** A stream of shards read front to back (webdataset). */
export interface StreamSource extends SourceBase {
  readonly kind: 'stream';
  readonly shards: readonly string[];
  /** Entries of the given shards, in order. */
  stream(shards: readonly string[]): AsyncIterable<SourceEntry>;
}

export type DatasetSource = IndexedSource | StreamSource;

export class DataError extends Error {
  override readonly name = 'DataError';
}

/** Async iteration over every entry of an indexed source, in index order. */
export async function* iterateIndexed(src: IndexedSource): AsyncGenerator<SourceEntry> {
  for (let i = 0; i < src.length; i++) yield await src.get(i);
}

/** A short printable origin of an image, for warnings. */
export function imageOrigin(ref: ImageRef): string {
  return ref.kind === 'path' ? ref.path : ref.origin;
}
