import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerPriorOf, priorAnswer, savedAnswerPrior } from '../src/tasks/vqa/answer-prior.js';
import type { DataItem, VqaMeta } from '../src/data/types.js';

const q = (id: number, questionType: string | undefined, answer: string): DataItem => ({
  key: String(id), images: [], captions: ['?'],
  meta: { task: 'vqa', questionId: id, imageId: id, answers: [{ answer, count: 10 }], multipleChoiceAnswer: answer, ...(questionType ? { questionType } : {}) } satisfies VqaMeta,
});

test('answer prior: the most common answer per question type, the overall one for unseen types', () => {
  const items = [q(1, 'colour', 'red'), q(2, 'colour', 'Red'), q(3, 'colour', 'blue'), q(4, 'exist', 'yes'), q(5, 'exist', 'no'), q(6, 'exist', 'no'), q(7, undefined, 'red')];
  const prior = answerPriorOf(items)!;
  assert.deepEqual(prior, { '': 'red', colour: 'red', exist: 'no' });
  const meta = (t?: string) => ({ task: 'vqa', questionId: 0, imageId: 0, answers: [], ...(t ? { questionType: t } : {}) }) as VqaMeta;
  assert.equal(priorAnswer(prior, meta('exist')), 'no');
  assert.equal(priorAnswer(prior, meta('count')), 'red');
  assert.equal(priorAnswer(prior, meta()), 'red');
  assert.equal(answerPriorOf([]), null);
});

test('answer prior: ties broken alphabetically; a saved prior is read back, a malformed one ignored', () => {
  assert.deepEqual(answerPriorOf([q(1, 'x', 'no'), q(2, 'x', 'yes')]), { '': 'no', x: 'no' });
  assert.deepEqual(savedAnswerPrior({ '': 'no', x: 'yes' }), { '': 'no', x: 'yes' });
  for (const bad of [null, 3, ['no'], { x: 'yes' }, { '': 1 }]) assert.equal(savedAnswerPrior(bad), null);
});
