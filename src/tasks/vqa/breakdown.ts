// VQA score per question type and per answer type, as the official VQA evaluation reports them
// (vqaEval's perQuestionType / perAnswerType), with the answer prior's score beside each: a model that
// only learnt the prior of a type scores the prior's number there.
import type { VqaPrediction } from './task.js';
import { formatTypeTables } from '../common/type-table.js';

/** The score of one group of questions (means over its `n` questions). */
export interface VqaTypeScore {
  score: number;
  /** the answer prior's score on the same questions (absent when the run has no prior) */
  prior?: number;
  n: number;
}

export interface VqaBreakdown {
  /** by the dataset's question type (VQAv2 `question_type`; the shapes world: colour, shape, size, count, exist, relation) */
  question_type: Record<string, VqaTypeScore>;
  /** by VQAv2 `answer_type`: yes/no, number, other */
  answer_type: Record<string, VqaTypeScore>;
}

function group(predictions: readonly VqaPrediction[], key: (p: VqaPrediction) => string | undefined): Record<string, VqaTypeScore> {
  const acc = new Map<string, { score: number; prior: number; priors: number; n: number }>();
  for (const p of predictions) {
    const k = key(p);
    if (k === undefined) continue;
    const a = acc.get(k) ?? { score: 0, prior: 0, priors: 0, n: 0 };
    a.score += p.score;
    a.n += 1;
    if (p.prior_score !== undefined) {
      a.prior += p.prior_score;
      a.priors += 1;
    }
    acc.set(k, a);
  }
  const out: Record<string, VqaTypeScore> = {};
  for (const [k, a] of [...acc].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    out[k] = { score: a.score / a.n, ...(a.priors === a.n ? { prior: a.prior / a.n } : {}), n: a.n };
  }
  return out;
}

/** The breakdown of scored predictions; questions without a type are left out of that grouping. */
export function vqaBreakdown(predictions: readonly VqaPrediction[]): VqaBreakdown {
  return { question_type: group(predictions, (p) => p.question_type), answer_type: group(predictions, (p) => p.answer_type) };
}

/** Lines for a terminal: each type's score, the prior's and the count. */
export function formatVqaBreakdown(b: VqaBreakdown): string[] {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`.padStart(6);
  return formatTypeTables([['question type', b.question_type], ['answer type', b.answer_type]], '   score   prior      n',
    (v) => `  ${pct(v.score)}  ${v.prior === undefined ? '     -' : pct(v.prior)}  ${String(v.n).padStart(5)}`);
}
