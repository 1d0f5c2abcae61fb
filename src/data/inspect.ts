/**
 * `flm data inspect SPEC`: read a whole dataset once, decode every distinct image, and report what was
 * found: usable images and captions, and what failed (with the first paths and reasons).
 */
import { availableParallelism } from 'node:os';
import { checkImage } from './image.js';
import { openDataset } from './spec.js';
import { imageOrigin, type DataItem, type DatasetSource } from './types.js';

export interface InspectFailure {
  path: string;
  reason: string;
}

export interface SplitCounts {
  images: number;
  captions: number;
  items: number;
}

export interface InspectReport {
  spec: string;
  kind: DatasetSource['kind'];
  textKind: DatasetSource['textKind'];
  /** Distinct images that decoded. */
  images: number;
  /** Texts (captions, questions, statements) of items whose images all decoded. */
  captions: number;
  /** Items whose images all decoded. */
  items: number;
  /** Rows, samples and distinct images that could not be used. */
  failed: number;
  failures: InspectFailure[];
  splits: Record<string, SplitCounts>;
  seconds: number;
}

export interface InspectOptions {
  /** Decode every image (default true); false only checks that items parse. */
  decode?: boolean;
  /** Images decoded at once (default: the CPU count, at least 4). */
  concurrency?: number;
  /** Failures listed in the report (default 20); all are counted. */
  maxFailures?: number;
  /** Called every `progressEvery` items (default 1000). */
  onProgress?: (seen: number) => void;
  progressEvery?: number;
}

export async function inspectDataset(spec: string, opts: InspectOptions = {}): Promise<InspectReport> {
  const t0 = performance.now();
  const src = await openDataset(spec);
  const decode = opts.decode ?? true;
  const limit = Math.max(1, opts.concurrency ?? Math.max(4, availableParallelism()));
  const maxFailures = opts.maxFailures ?? 20;
  const report: InspectReport = {
    spec, kind: src.kind, textKind: src.textKind, images: 0, captions: 0, items: 0, failed: 0, failures: [], splits: {}, seconds: 0,
  };
  const fail = (path: string, reason: string): void => {
    report.failed++;
    if (report.failures.length < maxFailures) report.failures.push({ path, reason });
  };
  for (const f of src.openFailures) fail(f.key, f.reason);

  /** Distinct image -> whether it decoded. */
  const seen = new Map<string, Promise<boolean>>();
  const inFlight = new Set<Promise<unknown>>();
  const splitOf = (item: DataItem): SplitCounts => {
    const k = item.split ?? 'all';
    let s = report.splits[k];
    if (s === undefined) report.splits[k] = s = { images: 0, captions: 0, items: 0 };
    return s;
  };
  const imageOk = (item: DataItem, i: number): Promise<boolean> => {
    const ref = item.images[i];
    if (ref === undefined) return Promise.resolve(false);
    const id = imageOrigin(ref);
    let p = seen.get(id);
    if (p === undefined) {
      p = (decode ? checkImage(ref) : Promise.resolve({ width: 1, height: 1 })).then(
        () => {
          report.images++;
          splitOf(item).images++;
          return true;
        },
        (e: unknown) => {
          fail(id, e instanceof Error ? e.message : String(e));
          return false;
        },
      );
      seen.set(id, p);
    }
    return p;
  };

  let n = 0;
  const every = opts.progressEvery ?? 1000;
  try {
    for await (const entry of src) {
      if (++n % every === 0) opts.onProgress?.(n);
      if (!entry.ok) {
        fail(entry.key, entry.reason);
        continue;
      }
      const item = entry.item;
      const job = Promise.all(item.images.map((_, i) => imageOk(item, i))).then((oks) => {
        if (!oks.every(Boolean)) return;
        const s = splitOf(item);
        report.items++;
        report.captions += item.captions.length;
        s.items++;
        s.captions += item.captions.length;
      });
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await src.close?.();
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

export function formatInspectReport(r: InspectReport): string {
  const lines = [
    `${r.spec} (${r.kind}, ${r.textKind}s)`,
    `  images   ${r.images}`,
    `  ${`${r.textKind}s`.padEnd(8)} ${r.captions}  (${r.items} usable items)`,
    `  failed   ${r.failed}`,
  ];
  for (const [k, s] of Object.entries(r.splits)) lines.push(`  split ${k}: ${s.images} images, ${s.captions} ${r.textKind}s`);
  if (r.failures.length > 0) {
    lines.push(`  first failures:`);
    for (const f of r.failures) lines.push(`    ${f.path}: ${f.reason}`);
  }
  lines.push(`  read in ${r.seconds.toFixed(1)} s`);
  return lines.join('\n');
}
