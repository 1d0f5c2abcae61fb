// `flm probe`: the race's probes (probes.ts) on one checkpoint, to see what a model has learnt without
// fine-tuning it: zero-shot K-way retrieval and minimal image pairs, each scored by the pretraining loss
// (pretraining runs only), and linear probes of the frozen image tower (every model has one).
import { loadRunModel } from '../tasks/common/inference-model.js';
import { zeroShotObjective } from '../tasks/retrieval/zero-shot.js';
import type { PretrainObjective } from '../tasks/pretrain/spec.js';
import { raceDataAt } from './defaults.js';
import { probeTrainSpec } from './race-config.js';
import { PROBE_DEFAULTS, prepareProbes, runProbes, type ProbeMetrics, type ProbeSettings } from './probes.js';

export class ProbeError extends Error {
  override name = 'ProbeError';
}

export interface ProbeCheckpointOptions {
  /** held-out images with captions (default: the race's test split at the model's image size) */
  data?: string;
  /** linear-probe training images (default: the val split of a shapes `data`, or train when `data` is val; other data: no linear probe) */
  probeTrainData?: string;
  /** 'latest' (default), 'best' or a step folder name */
  which?: string;
  probes?: Partial<ProbeSettings>;
  workers?: number;
}

export interface ProbeCheckpointResult {
  checkpoint: string;
  step: number;
  task: string;
  /** the loss that scored the zero-shot probes; null for a fine-tuned model (linear probes only) */
  objective: PretrainObjective | null;
  data: string;
  probeTrainData: string | null;
  metrics: ProbeMetrics;
}

export async function probeCheckpoint(path: string, o: ProbeCheckpointOptions = {}): Promise<ProbeCheckpointResult> {
  const run = await loadRunModel(path, { which: o.which ?? 'latest' });
  try {
    const data = o.data ?? raceDataAt(run.config.image_size).testData;
    const settings: ProbeSettings = { ...PROBE_DEFAULTS, ...o.probes };
    const lpSpec = o.probeTrainData ?? probeTrainSpec(data, settings.lpTrain);
    const objective = run.task === 'pretrain' ? zeroShotObjective(run.model, (run.state.config as { objective?: unknown } | undefined)?.objective) : null;
    const ctx = await prepareProbes(data, lpSpec, run.config.image_size, objective === null ? { ...settings, mpImages: 0 } : settings, { workers: o.workers ?? 1 });
    if (objective === null && !ctx.lpTrain) {
      throw new ProbeError(`nothing to probe: ${run.dir} is a fine-tuned ${run.task} model, which has only the linear probes, and they need shapes-world data and lpSteps > 0 (data: ${data})`);
    }
    const { metrics } = runProbes(run.model, objective, run.tokenizer, ctx);
    return { checkpoint: run.dir, step: run.state.step, task: run.task, objective, data, probeTrainData: ctx.lpTrain ? lpSpec : null, metrics };
  } finally {
    run.model.dispose();
  }
}
