// The runs view's data: every run folder and race folder under the runs root, with its settings and
// final metrics. Formats read:
//   run folder   metrics.jsonl (train/metrics-log.ts), config.json (the resolved settings),
//                checkpoints/{latest,best,step-N/state.json} (train/checkpoint.ts; state.json `task`)
//   race folder  results.json (compare/race.ts RaceResults, its `summary` from compare/report.ts)
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { MetricsRecord } from '../train/metrics-log.js';
import type { RunsRoot } from './paths.js';
import { isRecord } from '../data/formats/common.js';

export interface RunSummary {
  id: string;
  kind: 'run';
  /** 'pretrain', 'caption', 'vqa', ... ('finetune' when no checkpoint says which task yet) */
  task: string;
  objective: string | null;
  preset: string | null;
  /** config.json (or the latest checkpoint's state.json config); {} when neither exists yet */
  config: Record<string, unknown>;
  /** the last training record and the last evaluation record of metrics.jsonl */
  lastTrain: MetricsRecord | null;
  lastEval: MetricsRecord | null;
  /** config.steps, when set */
  plannedSteps: number | null;
  checkpoints: { latest: string | null; best: string | null; count: number };
  /** weights the try-it view can load: a checkpoint, or the folder's own model.safetensors */
  loadable: boolean;
  /** the folder holds tokenizer.json (the mask view can use it) */
  hasTokenizer: boolean;
  /** ms since the epoch of the last write to metrics.jsonl (null: no log yet) */
  updatedMs: number | null;
  /** the race this run belongs to, when it lies in a race folder's runs/ */
  race: string | null;
}

export interface RaceListing {
  id: string;
  kind: 'race';
  objectives: string[];
  seeds: number;
  headline: string | null;
  updatedMs: number;
}

const SKIP = new Set(['checkpoints', 'node_modules']);
/** folders below the root searched at most (a race's runs sit at depth 2 below the race) */
const MAX_DEPTH = 6;
const MAX_FOLDERS = 5000;

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null; // missing, or caught half-written: the next poll reads it again
  }
}


/** The text after the last `bytes` bytes' first newline (whole lines only). */
function tail(path: string, bytes: number): string {
  const size = statSync(path).size;
  const start = Math.max(0, size - bytes);
  const buf = Buffer.alloc(size - start);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, start);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8');
  return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
}

/** The last training and evaluation records of a metrics log (read from its end: logs can be long). */
export function lastRecords(metricsPath: string): { lastTrain: MetricsRecord | null; lastEval: MetricsRecord | null } {
  let lastTrain: MetricsRecord | null = null;
  let lastEval: MetricsRecord | null = null;
  if (!existsSync(metricsPath)) return { lastTrain, lastEval };
  const lines = tail(metricsPath, 256 * 1024).split('\n');
  for (let i = lines.length - 1; i >= 0 && (!lastTrain || !lastEval); i--) {
    let rec: unknown;
    try {
      rec = JSON.parse(lines[i]!);
    } catch {
      continue;
    }
    if (!isRecord(rec) || typeof rec.step !== 'number') continue;
    if (typeof rec.split === 'string') lastEval ??= rec as MetricsRecord;
    else lastTrain ??= rec as MetricsRecord;
  }
  return { lastTrain, lastEval };
}

function pointer(dir: string, which: 'latest' | 'best'): string | null {
  try {
    return readFileSync(join(dir, 'checkpoints', which), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** A training run (config.json is its first file), a loose checkpoint folder or a model folder. */
export function isRunFolder(dir: string): boolean {
  return ['metrics.jsonl', 'config.json', 'checkpoints', 'state.json', 'model.safetensors'].some((f) => existsSync(join(dir, f)));
}

export function isRaceFolder(dir: string): boolean {
  const r = existsSync(join(dir, 'results.json')) ? readJson(join(dir, 'results.json')) : null;
  return isRecord(r) && isRecord(r.setup) && Array.isArray(r.runs);
}

export function summarizeRun(root: RunsRoot, dir: string, race: string | null = null): RunSummary {
  const latest = pointer(dir, 'latest');
  const state = readJson(latest ? join(dir, 'checkpoints', latest, 'state.json') : join(dir, 'state.json'));
  const fromFile = readJson(join(dir, 'config.json'));
  const config = isRecord(fromFile) ? fromFile : isRecord(state) && isRecord(state.config) ? state.config : {};
  const task = isRecord(state) && typeof state.task === 'string' ? state.task
    : typeof config.objective === 'string' ? 'pretrain' : 'finetune';
  const metrics = join(dir, 'metrics.jsonl');
  const ckDir = join(dir, 'checkpoints');
  const steps = existsSync(ckDir) ? readdirSync(ckDir).filter((d) => /^step-\d+$/.test(d)).length : 0;
  return {
    id: root.idOf(dir), kind: 'run', task,
    objective: typeof config.objective === 'string' ? config.objective : null,
    preset: typeof config.preset === 'string' ? config.preset : null,
    config, ...lastRecords(metrics),
    plannedSteps: typeof config.steps === 'number' ? config.steps : null,
    checkpoints: { latest, best: pointer(dir, 'best'), count: steps },
    loadable: latest !== null || existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'state.json')),
    hasTokenizer: existsSync(join(dir, 'tokenizer.json')),
    updatedMs: existsSync(metrics) ? statSync(metrics).mtimeMs : null,
    race,
  };
}

export function summarizeRace(root: RunsRoot, dir: string): RaceListing {
  const r = readJson(join(dir, 'results.json')) as { setup?: { config?: { objectives?: string[]; seeds?: number } }; summary?: { headline?: { text?: string } } } | null;
  return {
    id: root.idOf(dir), kind: 'race',
    objectives: r?.setup?.config?.objectives ?? [],
    seeds: r?.setup?.config?.seeds ?? 0,
    headline: r?.summary?.headline?.text ?? null,
    updatedMs: statSync(join(dir, 'results.json')).mtimeMs,
  };
}

/**
 * Every run and race folder under the root (the root itself included), depth first in name order.
 * Symlinked folders are not followed (they could lead outside the root); `checkpoints/` is not searched.
 */
export function listRuns(root: RunsRoot): { runs: RunSummary[]; races: RaceListing[] } {
  const runs: RunSummary[] = [];
  const races: RaceListing[] = [];
  let seen = 0;
  const walk = (dir: string, depth: number, race: string | null): void => {
    if (++seen > MAX_FOLDERS) return;
    let inRace = race;
    if (isRaceFolder(dir)) {
      const r = summarizeRace(root, dir);
      races.push(r);
      inRace = r.id;
    }
    if (isRunFolder(dir)) {
      runs.push(summarizeRun(root, dir, inRace));
      return; // a run folder holds no further runs
    }
    if (depth >= MAX_DEPTH) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name)) walk(join(dir, e.name), depth + 1, inRace);
    }
  };
  walk(root.dir, 0, null);
  return { runs, races };
}
