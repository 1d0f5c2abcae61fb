// The try-it view's one door to the models: the library's `loadModel` (src/api), so the page shows
// exactly what a user's script would get. Uploads go to the model as encoded bytes, never as files.
import { loadModel, type FlmModel } from '../api/index.js';

export interface TryItModel {
  /** the checkpoint folder actually loaded (a run folder's best checkpoint, else its latest) */
  readonly checkpoint: string;
  /** 'caption', 'vqa', 'retrieval', 'pretrain', ... */
  readonly task: string;
  caption(image: Uint8Array, o: { beam: number }): Promise<string>;
  answer(image: Uint8Array, question: string, o: { top: number }): Promise<{ answer: string; score: number }[]>;
  /** the texts scored against the image, best first; `by` names the score (rank head, caption likelihood, ...) */
  score(image: Uint8Array, texts: readonly string[]): Promise<{ by: string; ranked: { text: string; score: number }[] }>;
  dispose(): void;
}

class LibraryModel implements TryItModel {
  constructor(private readonly model: FlmModel) {}

  get checkpoint(): string {
    return this.model.dir;
  }

  get task(): string {
    return this.model.task;
  }

  async caption(image: Uint8Array, o: { beam: number }): Promise<string> {
    return (await this.model.caption(image, { beam: o.beam })).caption;
  }

  async answer(image: Uint8Array, question: string, o: { top: number }): Promise<{ answer: string; score: number }[]> {
    return (await this.model.answer(image, question, { top: o.top })).top;
  }

  async score(image: Uint8Array, texts: readonly string[]): Promise<{ by: string; ranked: { text: string; score: number }[] }> {
    const m = await this.model.score([image], texts);
    const ranked = texts.map((text, t) => ({ text, score: m.scores[0]![t]! }));
    return { by: m.kind, ranked: ranked.sort((a, b) => b.score - a.score) };
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Loads a run folder (its best checkpoint, else its latest) or a checkpoint folder. */
export async function loadTryItModel(dir: string): Promise<TryItModel> {
  return new LibraryModel(await loadModel(dir));
}
