// The answer-prior baseline of VQA: always answer the training set's most common answer for the
// question's type (VQAv2's "per Q-type prior"). A VQA score is only meaningful next to it: on the
// shapes world "yes"/"no" and "1" alone score far above zero.
import type { DataItem, VqaMeta } from '../../data/types.js';
import { isVqaMeta, mainAnswer } from './answers.js';


/** Question type -> most common answer; `''` holds the answer used for types never seen in training. */
export type AnswerPrior = Readonly<Record<string, string>>;

export const ANY_TYPE = '';

function mostCommon(counts: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  let bestN = -1;
  for (const [a, n] of counts) if (n > bestN || (n === bestN && best !== undefined && a < best)) [best, bestN] = [a, n];
  return best;
}

/** The prior of a training set; null when it has no answered questions. */
export function answerPriorOf(items: readonly DataItem[]): AnswerPrior | null {
  const byType = new Map<string, Map<string, number>>();
  const bump = (type: string, answer: string) => {
    const c = byType.get(type) ?? new Map<string, number>();
    c.set(answer, (c.get(answer) ?? 0) + 1);
    byType.set(type, c);
  };
  for (const it of items) {
    if (!isVqaMeta(it.meta)) continue;
    const a = mainAnswer(it.meta);
    if (a === undefined) continue;
    bump(ANY_TYPE, a);
    if (it.meta.questionType !== undefined) bump(it.meta.questionType, a);
  }
  if (!byType.has(ANY_TYPE)) return null;
  return Object.fromEntries([...byType].map(([t, c]) => [t, mostCommon(c)!]));
}

/** The prior's answer to a question. */
export function priorAnswer(prior: AnswerPrior, meta: VqaMeta): string {
  return prior[meta.questionType ?? ANY_TYPE] ?? prior[ANY_TYPE]!;
}

/** Reads a prior saved in a checkpoint's state (absent in runs made before it existed). */
export function savedAnswerPrior(v: unknown): AnswerPrior | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const entries = Object.entries(v as Record<string, unknown>);
  if (!entries.every(([, a]) => typeof a === 'string') || !entries.some(([t]) => t === ANY_TYPE)) return null;
  return v as AnswerPrior;
}
