/**
 * VQAv2: a questions file (`{data_subtype, questions: [{image_id, question, question_id}]}`) and,
 * except for test splits, its annotations (`{annotations: [{question_id, answers: [{answer}], ...}]}`).
 * One item per question; image paths come from a template over the image id.
 *
 *   vqa:v2_OpenEnded_mscoco_train2014_questions.json?annotations=v2_mscoco_train2014_annotations.json&images=coco
 *
 * template (default `{subtype}/COCO_{subtype}_{id:012}.jpg`) may use {id}, {id:0N} (zero-padded to N)
 * and {subtype} (the file's data_subtype, or `subtype=`).
 */
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { DataError, type DataItem, type VqaAnswerCount } from '../types.js';
import { isRecord, MemorySource, readJsonArray, resolveUnder, str, type Failure } from './common.js';

export const VQA_DEFAULT_TEMPLATE = '{subtype}/COCO_{subtype}_{id:012}.jpg';

/** data_subtype sits near the top of the file; reading 64 KB avoids parsing it twice. */
async function dataSubtype(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const m = /"data_subtype"\s*:\s*"([^"]*)"/.exec(buf.subarray(0, bytesRead).toString('utf8'));
    if (m?.[1] !== undefined) return m[1];
  } finally {
    await fh.close();
  }
  return /_((?:train|val|test)[a-z-]*\d{4})_/.exec(basename(path))?.[1];
}

export function fillTemplate(template: string, id: number, subtype: string): string {
  return template.replace(/\{(id|subtype)(?::0?(\d+))?\}/g, (_, name: string, width: string | undefined) => {
    const v = name === 'id' ? String(id) : subtype;
    return width !== undefined ? v.padStart(Number(width), '0') : v;
  });
}

export async function openVqa(path: string, q: URLSearchParams, name: string): Promise<MemorySource> {
  const questions = await readJsonArray(path, 'questions', 'VQA questions file');
  const subtype = q.get('subtype') ?? (await dataSubtype(path)) ?? '';
  const template = q.get('template') ?? VQA_DEFAULT_TEMPLATE;
  const root = resolveUnder(process.cwd(), q.get('images') ?? dirname(path));
  const answers = new Map<number, Record<string, unknown>>();
  const annPath = q.get('annotations');
  if (annPath !== null && annPath !== '') {
    for (const a of await readJsonArray(resolveUnder(process.cwd(), annPath), 'annotations', 'VQA annotations file')) {
      if (isRecord(a) && typeof a.question_id === 'number') answers.set(a.question_id, a);
    }
  }
  const failures: Failure[] = [];
  const items: DataItem[] = [];
  questions.forEach((rec, i) => {
    if (!isRecord(rec) || typeof rec.image_id !== 'number' || typeof rec.question_id !== 'number' || typeof rec.question !== 'string') {
      failures.push({ key: `questions[${i}]`, reason: 'needs numeric image_id, question_id and a question string' });
      return;
    }
    const ann = answers.get(rec.question_id);
    if (annPath !== null && annPath !== '' && ann === undefined) {
      failures.push({ key: `question ${rec.question_id}`, reason: 'no annotation' });
      return;
    }
    const counts = new Map<string, number>();
    if (ann !== undefined && Array.isArray(ann.answers)) {
      for (const a of ann.answers) {
        const s = isRecord(a) ? str(a, 'answer') : undefined;
        if (s !== undefined) counts.set(s, (counts.get(s) ?? 0) + 1);
      }
    }
    const answerList: VqaAnswerCount[] = [...counts].map(([answer, count]) => ({ answer, count }));
    const mc = ann !== undefined ? str(ann, 'multiple_choice_answer') : undefined;
    const at = ann !== undefined ? str(ann, 'answer_type') : undefined;
    const qt = ann !== undefined ? str(ann, 'question_type') : undefined;
    items.push({
      key: String(rec.question_id),
      images: [{ kind: 'path', path: resolveUnder(root, fillTemplate(template, rec.image_id, subtype)) }],
      captions: [rec.question],
      ...(subtype !== '' ? { split: subtype } : {}),
      meta: {
        task: 'vqa', questionId: rec.question_id, imageId: rec.image_id, answers: answerList,
        ...(mc !== undefined ? { multipleChoiceAnswer: mc } : {}),
        ...(at !== undefined ? { answerType: at } : {}),
        ...(qt !== undefined ? { questionType: qt } : {}),
      },
    });
  });
  if (items.length === 0 && failures.length === 0) throw new DataError(`VQA questions file ${path} has no questions`);
  return new MemorySource(name, items, 'question', failures);
}
