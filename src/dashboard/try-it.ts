// The try-it view's one door to the models: load a model folder, caption an image, answer a question
// about it, rank typed captions for it. Written over the task inference code (tasks/*/infer.ts, the
// code behind `flm caption`, `flm vqa`, `flm retrieve`); when the library's `loadModel(dir)` lands this
// file is the only one to switch over to it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunModel, type RunModel } from '../tasks/common/inference-model.js';
import { captionFiles } from '../tasks/caption/infer.js';
import { answerQuestion } from '../tasks/vqa/infer.js';
import { retrieveImages } from '../tasks/retrieval/infer.js';

export interface TryItModel {
  /** the checkpoint folder actually loaded (a run folder's best checkpoint, else its latest) */
  readonly checkpoint: string;
  /** 'caption', 'vqa', 'retrieval', 'pretrain', ... */
  readonly task: string;
  caption(image: Uint8Array, o: { beam: number; maxSteps?: number }): Promise<string>;
  answer(image: Uint8Array, question: string, o: { top: number }): Promise<{ answer: string; score: number }[]>;
  /** the texts scored against the image, best first; `by` names the score (rank head, caption likelihood, ...) */
  score(image: Uint8Array, texts: readonly string[]): Promise<{ by: string; ranked: { text: string; score: number }[] }>;
  dispose(): void;
}

/** The inference code reads image files: each call writes the upload to a private temporary file. */
async function withImageFile<T>(image: Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'flm-dashboard-'));
  try {
    const path = join(dir, 'upload');
    writeFileSync(path, image);
    return await fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

class RunModelAdapter implements TryItModel {
  constructor(private readonly run: RunModel) {}

  get checkpoint(): string {
    return this.run.dir;
  }

  get task(): string {
    return this.run.task;
  }

  caption(image: Uint8Array, o: { beam: number; maxSteps?: number }): Promise<string> {
    return withImageFile(image, async (p) => (await captionFiles(this.run, [p], { beam: o.beam, maxSteps: o.maxSteps ?? 30 }))[0]!.caption);
  }

  answer(image: Uint8Array, question: string, o: { top: number }): Promise<{ answer: string; score: number }[]> {
    return withImageFile(image, (p) => answerQuestion(this.run, p, question, { top: o.top }));
  }

  score(image: Uint8Array, texts: readonly string[]): Promise<{ by: string; ranked: { text: string; score: number }[] }> {
    return withImageFile(image, async (p) => {
      let by = '';
      const ranked: { text: string; score: number }[] = [];
      for (const text of texts) {
        const r = await retrieveImages(this.run, [p], text);
        by = r.score;
        ranked.push({ text, score: r.ranked[0]!.score });
      }
      return { by, ranked: ranked.sort((a, b) => b.score - a.score) };
    });
  }

  dispose(): void {
    this.run.model.dispose();
  }
}

/** Loads a run folder (its best checkpoint, else its latest) or a checkpoint folder. */
export async function loadTryItModel(dir: string): Promise<TryItModel> {
  return new RunModelAdapter(await loadRunModel(dir, { which: 'auto' }));
}
