// The race's contestants: a pretraining objective by name (flm, mlm, ar, prefixlm), or FLM at a given
// span corruption rate, `flm@<rate>` (FLM's point is a free corruption rate, so several rates race as
// separate contestants). The name is the string as given; it names the runs (`runs/<name>-s<seed>`) and
// the report's columns. The target of every metric is the contestant named `mlm`.
import { PRETRAIN_OBJECTIVES, type PretrainObjective } from '../tasks/pretrain/objective-step.js';

export interface Contestant {
  name: string;
  objective: PretrainObjective;
  /** flm@<rate>: the span corruption rate; null: the race's --span-corruption-rate, else the preset's */
  spanCorruptionRate: number | null;
}

const RATE = /^(?:\d+(?:\.\d+)?|\.\d+)$/;

/** A contestant from its name, or a message saying what is wrong with it. */
export function parseContestant(text: string): Contestant | string {
  const name = text.trim();
  const at = name.indexOf('@');
  const objective = at < 0 ? name : name.slice(0, at);
  if (!(PRETRAIN_OBJECTIVES as readonly string[]).includes(objective)) {
    return `contestant '${name}': '${objective}' is not an objective (${PRETRAIN_OBJECTIVES.join(', ')}; or flm@<rate>)`;
  }
  if (at < 0) return { name, objective: objective as PretrainObjective, spanCorruptionRate: null };
  if (objective !== 'flm') return `contestant '${name}': only flm takes a corruption rate (flm@<rate>); ${objective} has none`;
  const rate = name.slice(at + 1);
  if (!RATE.test(rate) || !(Number(rate) >= 0 && Number(rate) <= 1)) return `contestant '${name}': the span corruption rate after '@' must be a number in [0, 1], got '${rate}'`;
  return { name, objective: 'flm', spanCorruptionRate: Number(rate) };
}

/** The contestants of a list, and the problems found (unknown names, bad rates, one contestant twice). */
export function parseContestants(names: readonly string[]): { contestants: Contestant[]; problems: string[] } {
  const contestants: Contestant[] = [];
  const problems: string[] = [];
  if (!names.length) problems.push('objectives: at least one contestant');
  const seen = new Map<string, string>();
  for (const n of names) {
    const c = parseContestant(n);
    if (typeof c === 'string') {
      problems.push(c);
      continue;
    }
    const key = `${c.objective}@${c.spanCorruptionRate ?? '-'}`;
    const before = seen.get(key);
    if (before !== undefined) problems.push(before === c.name ? `contestant '${c.name}' is listed twice` : `contestants '${before}' and '${c.name}' are the same`);
    seen.set(key, c.name);
    contestants.push(c);
  }
  return { contestants, problems };
}
