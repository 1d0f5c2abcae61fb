// The race view's data: a race folder's results.json (written by `flm compare`, compare/race.ts) passed
// on as written, with each run's folder given as a dashboard run id. results.json holds absolute paths
// from the machine that ran the race, so a run is looked up in the race folder's own runs/ (a copied
// race folder still links its runs). The dashboard sits beside compare/ in the layers, so the fields
// read here are declared here rather than imported.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NotFoundError, type RunsRoot } from './paths.js';

/** The part of compare/race.ts RaceResults this file reads; the rest is passed on untouched. */
interface RaceResultsJson {
  setup: Record<string, unknown>;
  runs: { run_dir: string; [k: string]: unknown }[];
  summary?: Record<string, unknown>;
}

export interface RaceView extends RaceResultsJson {
  id: string;
  /** per run (same order as `runs`): its run id in the dashboard, null when its folder is gone */
  runIds: (string | null)[];
  /** report files of the race folder that the page links to */
  files: string[];
}

export function raceView(root: RunsRoot, id: string): RaceView {
  const dir = root.resolve(id);
  const path = join(dir, 'results.json');
  if (!existsSync(path)) throw new NotFoundError(`${id} is not a race folder (no results.json)`);
  let res: RaceResultsJson;
  try {
    res = JSON.parse(readFileSync(path, 'utf8')) as RaceResultsJson;
  } catch (e) {
    throw new NotFoundError(`${id}/results.json cannot be read: ${(e as Error).message}`);
  }
  if (typeof res !== 'object' || res === null || !Array.isArray(res.runs)) throw new NotFoundError(`${id}/results.json is not a race's results`);
  const runIds = res.runs.map((r) => {
    const local = join(dir, 'runs', basename(String(r.run_dir)));
    if (!existsSync(local)) return null;
    try {
      return root.idOf(root.resolve(root.idOf(local)));
    } catch {
      return null; // a symlink out of the runs folder
    }
  });
  const files = ['report.md', 'results.json'].filter((f) => existsSync(join(dir, f)));
  return { ...res, id: root.idOf(dir), runIds, files };
}
