// `flm vqa`: answer a question about an image with a VQA fine-tuned checkpoint (`flm finetune vqa`): the
// answer is the argmax of vqa_classifier(cls_feats) over the answer vocabulary saved in the checkpoint's
// state.json (`answers`, vqa.ts) (spec D.8, F), or for a run fine-tuned with `--answer-head lm`
// (state.json `answer_head`) the answer the forward stream's language model finds likeliest
// (lm-answers.ts). Questions are tokenized as they are (E.4).
import { noGrad, tidy } from '../../tensor/index.js';
import { FLMModel } from '../../models/index.js';
import { CheckpointError } from '../../train/checkpoint.js';
import { loadImageBatch, textBatch, type ImageInput } from '../common/inference-inputs.js';
import { clsFeatures } from '../common/task.js';
import type { RunModel } from '../common/inference-model.js';
import { answerPlan, lmAnswerScores } from './lm-answers.js';

export interface VqaAnswerScore {
  answer: string;
  /** sigmoid of the answer's logit (the model is trained with BCE on soft scores); lm: its softmax probability among the answers */
  score: number;
}

/** The answer vocabulary (class index -> answer) of a VQA checkpoint. */
export function answerVocabOf(run: RunModel): string[] {
  const a = run.state.answers;
  if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a;
  throw new CheckpointError(`${run.dir}: state.json has no answer vocabulary ("answers")`);
}

/** The `top` best answers (default 5), best first. */
export async function answerQuestion(run: RunModel, image: ImageInput, question: string, o: { top?: number } = {}): Promise<VqaAnswerScore[]> {
  const { model } = run;
  const head = model.vqa_classifier;
  const byLm = run.state.answer_head === 'lm';
  if (!(model instanceof FLMModel) || (!byLm && !head)) throw new CheckpointError(`${run.dir} is a ${run.task} checkpoint without a VQA head: fine-tune it with \`flm finetune vqa\` first`);
  if (question.trim() === '') throw new RangeError('the question is empty');
  const answers = answerVocabOf(run);
  const classes = run.config.vqa_label_size ?? 3129;
  if (!byLm && answers.length !== classes) throw new CheckpointError(`${run.dir}: the VQA head has ${classes} classes but the answer vocabulary has ${answers.length}`);
  const plan = byLm ? answerPlan(run.tokenizer, answers) : null;
  const pixels = await loadImageBatch([image], run.config.image_size); // [1, 3, S, S]
  try {
    const probs = noGrad(() => tidy(() => {
      if (plan) return lmAnswerScores(model, run.tokenizer, plan, pixels, [question]).softmax(-1).select(0, 0).toFlatArray(); // [C]
      const t = textBatch(run.tokenizer, [question]);
      return head!.forward(clsFeatures(model, pixels, t.textIds, t.textMasks)).sigmoid().select(0, 0).toFlatArray(); // [C]
    }));
    return probs
      .map((score, i) => ({ answer: answers[i]!, score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, o.top ?? 5);
  } finally {
    pixels.dispose();
  }
}
