// The race's settings (RaceConfig), their validation, and what may differ when a race is resumed.
import { PRESETS } from '../models/index.js';
import { parseDatasetSpec } from '../data/spec.js';
import { parseContestants } from './contestants.js';
import { MLM_SCORINGS, type ProbeSettings } from './probes.js';
import { downstreamProblems } from './downstream.js';
import { PROBE_DEFAULTS, type DownstreamSettings } from './defaults.js';

export interface RaceConfig {
  /** training data spec (any caption dataset) */
  data: string;
  /** held-out images + captions the probes use */
  testData: string;
  /** linear-probe training images (null: derived from a shapes test spec, else no linear probe) */
  probeTrainData: string | null;
  /** contestants: objective names, or flm@<rate> (contestants.ts) */
  objectives: string[];
  /** number of seeds (0 .. seeds-1) per contestant */
  seeds: number;
  /** wall-clock training seconds per run */
  budgetS: number;
  /** checkpoints per run, at budget·k/evals (k = 1..evals) */
  evals: number;
  /** also probe the initialisation (time 0) */
  evalInit: boolean;
  preset: string;
  out: string;
  batchSize: number;
  lr: number;
  /** warmup in steps (constant learning rate afterwards: no checkpoint is favoured by the schedule) */
  warmupSteps: number;
  threads: number;
  workers: number;
  spanCorruptionRate: number | null;
  mlmRate: number;
  probes: ProbeSettings;
  /** fine-tuning of every probed checkpoint on downstream tasks (absent in races before it: none) */
  downstream?: DownstreamSettings;
  /** the headline metric of the report (null: the first downstream metric, else the first probe) */
  metric: string | null;
  /** bootstrap replicates behind every interval (absent in races before the intervals: 1000) */
  resamples?: number;
  /** seed of the bootstrap resampling */
  bootstrapSeed?: number;
}

/** The linear probe's training images: the val split of a shapes test spec (same world seed and size). */
export function probeTrainSpec(testSpec: string, images = PROBE_DEFAULTS.lpTrain): string | null {
  const p = parseDatasetSpec(testSpec);
  if (p.scheme !== 'shapes') return null;
  const q = new URLSearchParams(p.query);
  q.set('n', String(images));
  return `shapes:${p.path === 'val' ? 'train' : 'val'}?${q.toString()}`;
}

export class RaceConfigError extends Error {
  override name = 'RaceConfigError';
}

export function validateRaceConfig(c: RaceConfig): RaceConfig {
  const bad: string[] = [];
  bad.push(...parseContestants(c.objectives).problems);
  if (!(c.preset in PRESETS)) bad.push(`preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${c.preset}'`);
  const int = (k: string, v: number, min: number): void => { if (!Number.isInteger(v) || v < min) bad.push(`${k} must be an integer >= ${min}, got ${v}`); };
  int('seeds', c.seeds, 1); int('evals', c.evals, 1); int('batchSize', c.batchSize, 1); int('warmupSteps', c.warmupSteps, 0);
  int('threads', c.threads, 0); int('workers', c.workers, 0);
  int('probes.zsImages', c.probes.zsImages, 2); int('probes.way', c.probes.way, 2); int('probes.mpImages', c.probes.mpImages, 0); int('probes.mpRefs', c.probes.mpRefs, 0);
  int('probes.lpSteps', c.probes.lpSteps, 0); int('probes.lpTrain', c.probes.lpTrain, 0); int('probes.lpTest', c.probes.lpTest, 0); int('probes.mlmPasses', c.probes.mlmPasses, 1); int('probes.batch', c.probes.batch, 1);
  if (!MLM_SCORINGS.includes(c.probes.mlmScoring)) bad.push(`probes.mlmScoring must be one of ${MLM_SCORINGS.join(', ')}, got '${String(c.probes.mlmScoring)}'`);
  if (c.resamples !== undefined) int('resamples', c.resamples, 1);
  if (c.probes.zsImages < c.probes.way) bad.push(`probes.zsImages (${c.probes.zsImages}) must be at least the way (${c.probes.way})`);
  if (!(c.budgetS > 0 && Number.isFinite(c.budgetS))) bad.push(`budgetS must be > 0, got ${c.budgetS}`);
  if (!(c.lr > 0 && c.lr < 10)) bad.push(`lr must be in (0, 10), got ${c.lr}`);
  if (c.spanCorruptionRate !== null && !(c.spanCorruptionRate >= 0 && c.spanCorruptionRate <= 1)) bad.push('spanCorruptionRate must be in [0, 1]');
  if (!(c.mlmRate > 0 && c.mlmRate <= 1)) bad.push('mlmRate must be in (0, 1]');
  for (const [k, v] of [['data', c.data], ['testData', c.testData], ['out', c.out]] as const) if (!v) bad.push(`${k} is required`);
  if (c.downstream) bad.push(...downstreamProblems(c.downstream, c.data, c.testData));
  if (bad.length) throw new RaceConfigError(`invalid race config:\n  - ${bad.join('\n  - ')}`);
  return c;
}

/** Settings a resumed race may change: they change the analysis or the speed of the machine's work, not the runs. */
const MAY_CHANGE = new Set(['out', 'threads', 'workers', 'metric', 'resamples', 'bootstrapSeed']);

/** The settings of `next` that differ from the race being resumed (`saved`), as "key: old -> new" lines. */
export function resumeConflicts(saved: RaceConfig, next: RaceConfig): string[] {
  const flat = (o: unknown, prefix = ''): Map<string, string> => {
    const m = new Map<string, string>();
    if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
      for (const [k, v] of Object.entries(o)) for (const [kk, vv] of flat(v, prefix ? `${prefix}.${k}` : k)) m.set(kk, vv);
    } else m.set(prefix, JSON.stringify(o ?? null));
    return m;
  };
  const a = flat(saved);
  const b = flat(next);
  const out: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (MAY_CHANGE.has(k.split('.')[0]!)) continue;
    if (a.get(k) !== b.get(k)) out.push(`${k}: ${a.get(k) ?? 'unset'} -> ${b.get(k) ?? 'unset'}`);
  }
  return out;
}
