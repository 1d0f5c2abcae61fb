// What a training recipe says — only what differs between pretraining and the downstream tasks: how
// the model, tokenizer and data of a run are built (or rebuilt from a checkpoint), the loss of a
// micro-batch, the evaluation, the extra state a checkpoint keeps and the curves worth drawing. The
// trainer (trainer.ts) owns everything else.
import type { AnyFLMModel, FLMConfig } from '../models/index.js';
import type { DatasetSource } from '../data/types.js';
import type { Batch } from '../data/loader.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import type { ProcessGroup } from '../dist/process-group.js';
import type { ConfigOf, TaskSpec, TrainSettings } from '../config/settings.js';
import type { MicroLoss } from './loop.js';

/** Where in the run a micro-batch is: random draws that must survive a resume are keyed on it. */
export interface StepContext {
  /** optimiser step being computed (0-based) */
  step: number;
  /** micro-batch index within the step */
  micro: number;
  /** this rank's draw seed */
  seed: number;
}

export type Metrics = Record<string, number>;

/** One evaluation: the metrics, the checkpoint-selection value (higher is better) and optional details. */
export interface Evaluation {
  metrics: Metrics;
  selection: number;
  /** recipe-specific results (caption predictions, VQA answers); not saved in checkpoints */
  details?: unknown;
  /** per metric that is a mean over examples, each example's score; not saved in checkpoints */
  items?: Record<string, number[]>;
}

export interface EvalRequest {
  spec: string;
  batchSize: number;
  /** only the first n images / examples (0: all) */
  limit: number;
  workers: number;
  pg: ProcessGroup | null;
  progress?: (message: string) => void;
}

/** The checkpoint state a run was saved with (state.json), as a recipe sees it when resuming. */
export interface SavedRun {
  dir: string;
  step: number;
  modelConfig?: FLMConfig;
  [extra: string]: unknown;
}

/** A model loaded from a checkpoint for evaluation. */
export interface SavedModel {
  dir: string;
  model: AnyFLMModel;
  tokenizer: TextTokenizer;
  state: Record<string, unknown>;
}

export interface PrepareContext<C extends TrainSettings> {
  c: C;
  /** the checkpoint being resumed, or null for a new run */
  saved: SavedRun | null;
  /** rank 0 of a data-parallel run, or the only process */
  main: boolean;
  /** ranks wait here while rank 0 writes shared files (the run's tokenizer) */
  barrier(): void;
  /** rank 0's value on every rank (JSON), after rank 0 has computed it; the value itself in one process */
  share<T>(value: T | null): T;
  say(message: string): void;
}

/** A run's model, tokenizer, data and task behaviour, as a recipe prepares it. */
export interface PreparedRun {
  model: AnyFLMModel;
  modelConfig: FLMConfig;
  tokenizer: TextTokenizer;
  /** the training data (the trainer closes it) */
  source: DatasetSource;
  /** whether the loader tokenizes the texts with `tokenizer` (captioning encodes its own) */
  tokenizeInLoader: boolean;
  /** loss of one training micro-batch, inside the loop's tidy scope */
  loss(batch: Batch, at: StepContext): MicroLoss;
  /** metrics on held-out data, model in eval mode; absent: the recipe has no evaluation */
  evaluate?(r: EvalRequest): Promise<Evaluation>;
  /** JSON kept in every checkpoint besides the trainer's (VQA answers, caption tokens) */
  stateExtras?(): Record<string, unknown>;
  /**
   * What a checkpoint's config.json says about the task head besides its weights (model-folder.ts `head`);
   * default: stateExtras. The run's tokenizer is `<out>/tokenizer.json`, which prepare() writes.
   */
  modelHead?(): Record<string, unknown>;
  /** settings the source decided (a fine-tune's model size is its source's): recorded in config.json */
  decided?: Partial<TrainSettings>;
  /** what a new run was initialised from: lines for the log, and the report saved as init.json */
  init?: { lines: string[]; report: unknown };
}

export interface Recipe<S extends TaskSpec = TaskSpec> {
  /** the command's name, settings and defaults */
  readonly spec: S;
  /** builds a new run (ctx.saved null) or rebuilds a resumed one */
  prepare(ctx: PrepareContext<ConfigOf<S>>): Promise<PreparedRun>;
  /** `flm eval`: the recipe's evaluation of a saved model (its checkpoint state holds the extras) */
  evaluateSaved?(saved: SavedModel, r: EvalRequest): Promise<Evaluation>;
  /**
   * metrics.jsonl keys drawn in loss.svg besides the loss; val.svg draws every number of the
   * evaluations, the `val` keys first, except `sizes` (example counts and timings, which are no curves)
   */
  readonly curves: { loss: readonly string[]; val: readonly string[]; sizes?: readonly string[] };
}
