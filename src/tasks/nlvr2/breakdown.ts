// NLVR2 accuracy per kind of statement, where the data names the kinds (the shapes world does). The
// labels are balanced within each kind, so 0.5 is chance in every row, and a model that learnt only
// some kinds shows which.
import type { Nlvr2Judgement } from '../common/task.js';
import { formatTypeTables } from '../common/type-table.js';

/** The accuracy over one kind's `n` labelled statements. */
export interface Nlvr2TypeAccuracy {
  accuracy: number;
  n: number;
}

export interface Nlvr2Breakdown {
  /** by the statement's form: exists, count, relation, compare, total */
  statement_form: Record<string, Nlvr2TypeAccuracy>;
  /** by form and the images it is about: exists/both, count/left, relation/neither, ... */
  statement_type: Record<string, Nlvr2TypeAccuracy>;
}

function group(judgements: readonly Nlvr2Judgement[], key: (j: Nlvr2Judgement) => string | undefined): Record<string, Nlvr2TypeAccuracy> {
  const acc = new Map<string, { hits: number; n: number }>();
  for (const j of judgements) {
    const k = key(j);
    if (k === undefined || j.label === undefined) continue;
    const a = acc.get(k) ?? { hits: 0, n: 0 };
    a.hits += j.prediction === j.label ? 1 : 0;
    a.n += 1;
    acc.set(k, a);
  }
  const out: Record<string, Nlvr2TypeAccuracy> = {};
  for (const [k, a] of [...acc].sort((x, y) => (x[0] < y[0] ? -1 : 1))) out[k] = { accuracy: a.hits / a.n, n: a.n };
  return out;
}

/** The breakdown of labelled judgements that carry a statement type; null when none does. */
export function nlvr2Breakdown(judgements: readonly Nlvr2Judgement[]): Nlvr2Breakdown | null {
  if (!judgements.some((j) => j.statement_type !== undefined && j.label !== undefined)) return null;
  return {
    statement_form: group(judgements, (j) => j.statement_type?.split('/')[0]),
    statement_type: group(judgements, (j) => j.statement_type),
  };
}

/** Lines for a terminal: each kind's accuracy and count. */
export function formatNlvr2Breakdown(b: Nlvr2Breakdown): string[] {
  return formatTypeTables([['statement form', b.statement_form], ['statement type', b.statement_type]], '  accuracy      n',
    (v) => `  ${`${(100 * v.accuracy).toFixed(1)}%`.padStart(8)}  ${String(v.n).padStart(5)}`);
}
