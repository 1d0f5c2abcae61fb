import type { Command } from 'commander';
import { num } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { DOWNSTREAM_TASKS, DOWNSTREAM_TEST, FULL_RACE as F, PROBE_DEFAULTS as P, RACE_DEFAULTS as R, defaultRaceData } from '../compare/defaults.js';
import { printJson } from './json.js';

const D = defaultRaceData(R.preset);
/** "100 (--full 300)": a default, and --full's where it differs */
const dflt = (a: unknown, b: unknown): string => (JSON.stringify(a) === JSON.stringify(b) ? String(a) : `${String(a)}; --full ${String(b)}`);

function mlmScoring(v: string): 'one-word' | 'passes' {
  if (v === 'one-word' || v === 'passes') return v;
  throw new Error(`--mlm-scoring must be one-word or passes, got '${v}'`);
}

interface CompareFlags {
  data?: string; testData?: string; probeTrainData?: string; objectives?: string; seeds?: string; budget?: string; evals?: string;
  evalInit?: boolean; preset?: string; out?: string; batchSize?: string; lr?: string; warmup?: string; threads?: string; workers?: string;
  spanCorruptionRate?: string; mlmRate?: string; zsImages?: string; way?: string; mpImages?: string; mpRefs?: string; lpSteps?: string; lpTrain?: string; lpTest?: string; mlmScoring?: string; mlmPasses?: string;
  downstream?: string; downstreamSteps?: string; downstreamTest?: string; resamples?: string;
  metric?: string; full?: boolean; resume?: boolean; overwrite?: boolean; json?: boolean; quiet?: boolean;
}

export function registerCompare(p: Command): void {
  p.command('compare')
    .description('race the pretraining objectives for the same wall-clock budget on the same data: zero-shot probes and (--downstream) fine-tuned task scores vs pretraining time, with bootstrap intervals')
    .option('--full', `the longer, sharper race: ${F.seeds} seeds, ${F.budgetS} s per run, ${F.evals} checkpoints, more test items, every checkpoint fine-tuned on ${F.downstream!.tasks.join(', ')} (hours on 2 cores); flags given with it still win`)
    .option('--data <spec>', `training data spec (default: ${D.data.replace(/size=\d+/, 'size=<preset image size>')})`)
    .option('--test-data <spec>', `held-out images + captions for the probes (default: ${D.testData.replace(/size=\d+/, 'size=<preset image size>')})`)
    .option('--probe-train-data <spec>', 'linear-probe training images (default: the val split of a shapes test spec)')
    .option('--objectives <list>', `comma-separated contestants: flm, mlm, ar, prefixlm, or flm@<rate> for FLM at that span corruption rate (e.g. flm@0,flm@0.3,mlm,ar); MLM is the target (default ${R.objectives.join(',')})`)
    .option('--seeds <n>', `seeds per contestant (default ${dflt(R.seeds, F.seeds)})`)
    .option('--budget <s>', `training seconds per run, wall-clock; probes and fine-tunes are not counted (default ${dflt(R.budgetS, F.budgetS)})`)
    .option('--evals <n>', `checkpoints per run, every budget/n seconds (default ${dflt(R.evals, F.evals)})`)
    .option('--no-eval-init', 'do not probe the initialisation (then no target can be checked against it)')
    .option('--preset <name>', `model size: tiny | mini | small | base (default ${R.preset}, the race size for a 2-core CPU)`)
    .option('--out <dir>', 'report folder (default runs/compare)')
    .option('--batch-size <n>', `batch size (default ${R.batchSize})`)
    .option('--lr <x>', `base learning rate, constant after warmup (default ${R.lr})`)
    .option('--warmup <n>', `warmup steps (default ${R.warmupSteps})`)
    .option('--threads <n>', `intra-op threads (default ${R.threads}: all cores)`)
    .option('--workers <n>', `image decode worker threads (default ${R.workers})`)
    .option('--span-corruption-rate <r>', 'corruption rate of a plain flm contestant (default: the preset\'s; flm@<rate> names its own)')
    .option('--mlm-rate <r>', `MLM masking rate (default ${R.mlmRate})`)
    .option('--zs-images <n>', `test images of the zero-shot K-way retrieval (default ${dflt(P.zsImages, F.probes.zsImages)})`)
    .option('--way <k>', `K of the K-way retrieval, zero-shot and downstream (default ${P.way})`)
    .option('--mp-images <n>', `test images the minimal image pairs are built from; shapes world, 0: none (default ${dflt(P.mpImages, F.probes.mpImages)})`)
    .option('--mp-refs <n>', `reference captions per minimal pair, the image-prior correction (default ${dflt(P.mpRefs, F.probes.mpRefs)})`)
    .option('--lp-steps <n>', `linear-probe optimiser steps; 0: no linear probe (default ${P.lpSteps})`)
    .option('--lp-train <n>', `linear-probe training images (default ${dflt(P.lpTrain, F.probes.lpTrain)})`)
    .option('--lp-test <n>', `linear-probe test images (default ${P.lpTest})`)
    .option('--mlm-scoring <how>', `how MLM scores a caption: one-word (one word masked at a time, the standard pseudo-log-likelihood) | passes (--mlm-passes disjoint maskings at once, cheaper) (default ${P.mlmScoring})`)
    .option('--mlm-passes <n>', `disjoint maskings of the MLM pseudo-log-likelihood with --mlm-scoring passes (default ${P.mlmPasses})`)
    .option('--downstream <tasks>', `fine-tune every probed checkpoint on these tasks (comma-separated: ${DOWNSTREAM_TASKS.join(', ')}; vqa and nlvr2 need the shapes world) and score it on the test split; "none": no fine-tuning (default ${dflt(R.downstream!.tasks.join(',') || 'none', F.downstream!.tasks.join(','))})`)
    .option('--downstream-steps <n>', `fine-tuning steps per task and checkpoint, with the task's own recipe (default ${R.downstream!.steps})`)
    .option('--downstream-test <n>', `test items per downstream task (default: ${DOWNSTREAM_TASKS.map((t) => `${t} ${DOWNSTREAM_TEST[t]}`).join(', ')}; VQA questions, NLVR2 statements, retrieval images in K-way groups, caption images)`)
    .option('--resamples <n>', `bootstrap replicates behind every 95% interval (default ${R.resamples})`)
    .option('--metric <name>', 'headline metric of the report (default: the first downstream metric, else zs_t2i_r1)')
    .option('--resume', 'continue the race in --out where it stopped (same settings; finished runs, checkpoints and fine-tunes are kept)')
    .option('--overwrite', 'replace an earlier race in --out')
    .option('--quiet', 'no progress lines')
    .option('--json', 'print the verdict as JSON (every metric: MLM\'s target, each contestant\'s time to it, speed-up and final score with 95% intervals)')
    .action(async (f: CompareFlags, cmd: Command) => {
      const { runRace, RACE_DEFAULTS, FULL_RACE, defaultRaceData } = await import('../compare/race.js');
      const B = f.full ? FULL_RACE : RACE_DEFAULTS;
      const preset = f.preset ?? B.preset;
      const defaults = defaultRaceData(preset);
      const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
      const n = (flag: string, v: string | undefined, o: { int?: boolean; min?: number; max?: number }, d: number): number => num(flag, v, o) ?? d;
      const probes = B.probes;
      const down = B.downstream!;
      const res = await runRace({
        ...B,
        data: f.data ?? defaults.data,
        testData: f.testData ?? defaults.testData,
        probeTrainData: f.probeTrainData ?? null,
        objectives: list(f.objectives ?? B.objectives.join(',')),
        seeds: n('seeds', f.seeds, { int: true, min: 1 }, B.seeds),
        budgetS: n('budget', f.budget, { min: 0.001 }, B.budgetS),
        evals: n('evals', f.evals, { int: true, min: 1 }, B.evals),
        evalInit: f.evalInit ?? true,
        preset,
        out: f.out ?? 'runs/compare',
        batchSize: n('batch-size', f.batchSize, { int: true, min: 1 }, B.batchSize),
        lr: n('lr', f.lr, { min: 0 }, B.lr),
        warmupSteps: n('warmup', f.warmup, { int: true, min: 0 }, B.warmupSteps),
        threads: n('threads', f.threads, { int: true, min: 0 }, B.threads),
        workers: n('workers', f.workers, { int: true, min: 0 }, B.workers),
        spanCorruptionRate: num('span-corruption-rate', f.spanCorruptionRate, { min: 0, max: 1 }) ?? null,
        mlmRate: n('mlm-rate', f.mlmRate, { min: 0, max: 1 }, B.mlmRate),
        probes: {
          zsImages: n('zs-images', f.zsImages, { int: true, min: 2 }, probes.zsImages),
          way: n('way', f.way, { int: true, min: 2 }, probes.way),
          mpImages: n('mp-images', f.mpImages, { int: true, min: 0 }, probes.mpImages),
          mpRefs: n('mp-refs', f.mpRefs, { int: true, min: 0 }, probes.mpRefs),
          lpSteps: n('lp-steps', f.lpSteps, { int: true, min: 0 }, probes.lpSteps),
          lpTrain: n('lp-train', f.lpTrain, { int: true, min: 0 }, probes.lpTrain),
          lpTest: n('lp-test', f.lpTest, { int: true, min: 0 }, probes.lpTest),
          mlmScoring: mlmScoring(f.mlmScoring ?? probes.mlmScoring),
          mlmPasses: n('mlm-passes', f.mlmPasses, { int: true, min: 1 }, probes.mlmPasses),
          batch: probes.batch,
        },
        downstream: {
          tasks: f.downstream === undefined ? down.tasks : f.downstream.trim() === 'none' ? [] : list(f.downstream),
          steps: n('downstream-steps', f.downstreamSteps, { int: true, min: 1 }, down.steps),
          test: num('downstream-test', f.downstreamTest, { int: true, min: 2 }) ?? down.test,
        },
        resamples: n('resamples', f.resamples, { int: true, min: 1 }, B.resamples ?? 1000),
        metric: f.metric ?? null,
      }, { overwrite: f.overwrite ?? false, resume: f.resume ?? false, ...(f.quiet ? { log: () => {} } : {}) });
      if (f.json) {
        // metrics: per metric and contestant, the final score and the speed-up to MLM's best (the verdict has the intervals)
        const metrics: Record<string, number | null> = {};
        for (const v of res.summary?.verdict ?? []) {
          for (const [o, x] of Object.entries(v.objectives)) {
            metrics[`${v.metric}.${o}.final`] = x.final;
            metrics[`${v.metric}.${o}.speedup`] = x.speedup;
          }
        }
        printJson('compare', metrics, { out: res.setup.config.out, finished: res.setup.finished !== undefined, headline: res.summary?.headline, verdict: res.summary?.verdict ?? [] });
      }
      else console.error(`flm compare: ${res.summary?.headline.text ?? ''}\nflm compare: report in ${res.setup.config.out}/report.md`);
      setExitCode(cmd, 0);
    });
}
