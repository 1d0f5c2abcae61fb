/**
 * VQA and NLVR2 evaluation metrics as FLM computes them (flm/gadgets/my_metrics.py, spec F):
 * - `VqaScore`: argmax class of each row, scored by the soft target of that class
 *   (0, 0.3, 0.6, 0.9 or 1); reported as sum / number of questions;
 * - `Accuracy` (NLVR2): argmax of the logits against the label, labels equal to -100 ignored;
 * - `vqaTargetScore`: the soft score from the number of annotators who gave an answer
 *   (ViLT/FLM write_vqa.py `get_score`: 0 -> 0, 1 -> 0.3, 2 -> 0.6, 3 -> 0.9, >= 4 -> 1).
 * argmax follows torch: the first maximum wins, and a NaN counts as the maximum.
 */

export { normalizeVqaWord, processDigitArticle, processPunctuation } from './vqa-normalize.js';

/** Soft VQA targets of one question: `scores[i]` for class `labels[i]` (other classes 0). */
export interface VqaTarget {
  readonly labels: readonly number[];
  readonly scores: readonly number[];
}

export function vqaTargetScore(annotatorCount: number): number {
  if (!Number.isInteger(annotatorCount) || annotatorCount < 0) {
    throw new Error(`vqaTargetScore: annotator count must be a non-negative integer, got ${annotatorCount}`);
  }
  if (annotatorCount === 0) return 0;
  if (annotatorCount === 1) return 0.3;
  if (annotatorCount === 2) return 0.6;
  if (annotatorCount === 3) return 0.9;
  return 1;
}

type Logits = Float32Array | Float64Array | readonly number[];

/** Row-wise argmax of a [rows, numClasses] row-major matrix. */
export function argmaxRows(logits: Logits, numClasses: number): number[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`argmaxRows: numClasses must be a positive integer, got ${numClasses}`);
  }
  if (logits.length % numClasses !== 0) {
    throw new Error(`argmaxRows: ${logits.length} logits is not a multiple of numClasses = ${numClasses}`);
  }
  const rows = logits.length / numClasses;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestVal = logits[r * numClasses] ?? NaN;
    for (let c = 1; c < numClasses && !Number.isNaN(bestVal); c++) {
      const v = logits[r * numClasses + c] ?? NaN;
      if (Number.isNaN(v) || v > bestVal) {
        best = c;
        bestVal = v;
      }
    }
    out.push(best);
  }
  return out;
}

/** Accumulates like the torchmetrics `VQAScore`: `update` per batch, `compute` = sum / total. */
export class VqaScore {
  private sum = 0;
  private total = 0;
  /** each scored question's score, in order */
  readonly rows: number[] = [];

  update(logits: Logits, numClasses: number, targets: readonly VqaTarget[]): void {
    const preds = argmaxRows(logits, numClasses);
    if (preds.length !== targets.length) {
      throw new Error(`VqaScore: ${preds.length} logit rows but ${targets.length} targets`);
    }
    preds.forEach((pred, i) => {
      const t = targets[i];
      if (t === undefined || t.labels.length !== t.scores.length) {
        throw new Error(`VqaScore: target ${i} must have as many labels as scores`);
      }
      // Dense targets are filled label by label, so a repeated label keeps its last score.
      let s = 0;
      t.labels.forEach((label, j) => {
        if (label === pred) s = t.scores[j] ?? 0;
      });
      this.sum += s;
      this.rows.push(s);
    });
    this.total += preds.length;
  }

  compute(): number {
    if (this.total === 0) throw new Error('VqaScore: no questions were scored');
    return this.sum / this.total;
  }
}

export function vqaScore(logits: Logits, numClasses: number, targets: readonly VqaTarget[]): number {
  const m = new VqaScore();
  m.update(logits, numClasses, targets);
  return m.compute();
}

export const IGNORE_INDEX = -100;

/** FLM's `Accuracy` metric: argmax vs label, labels equal to -100 skipped. */
export class Accuracy {
  private correct = 0;
  private total = 0;

  update(logits: Logits, numClasses: number, labels: ArrayLike<number>): void {
    const preds = argmaxRows(logits, numClasses);
    if (preds.length !== labels.length) {
      throw new Error(`Accuracy: ${preds.length} logit rows but ${labels.length} labels`);
    }
    preds.forEach((pred, i) => {
      const label = labels[i];
      if (label === IGNORE_INDEX) return;
      if (label === pred) this.correct += 1;
      this.total += 1;
    });
  }

  compute(): number {
    if (this.total === 0) throw new Error('Accuracy: no labelled examples were scored');
    return this.correct / this.total;
  }
}

/** NLVR2 accuracy from [N, 2] logits and labels (1 = "True"). */
export function nlvr2Accuracy(logits: Logits, labels: ArrayLike<number>): number {
  const m = new Accuracy();
  m.update(logits, 2, labels);
  return m.compute();
}
