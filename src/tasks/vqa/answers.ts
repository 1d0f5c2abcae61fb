// A question's answers as the VQA task and its answer prior read them.
import { normalizeVqaWord } from '../../eval/metrics/vqa.js';
import type { ItemMeta, VqaMeta } from '../../data/types.js';

export const isVqaMeta = (m: ItemMeta | undefined): m is VqaMeta => (m as { task?: unknown } | undefined)?.task === 'vqa';

/** Annotator answers of a question, normalised (VQA eval rules) and counted. */
export function answerCounts(meta: VqaMeta): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of meta.answers) {
    const n = normalizeVqaWord(a.answer);
    counts.set(n, (counts.get(n) ?? 0) + a.count);
  }
  return counts;
}

/** The question's answer, normalised: `multiple_choice_answer`, else the annotators' most frequent. */
export function mainAnswer(m: VqaMeta): string | undefined {
  const mc = m.multipleChoiceAnswer ?? [...answerCounts(m)].sort((a, b) => b[1] - a[1])[0]?.[0];
  return mc === undefined ? undefined : normalizeVqaWord(mc);
}
