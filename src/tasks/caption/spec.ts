// `flm finetune caption`: AR loss with <bos>/<eos> (spec D.11); evaluation decodes and scores captions.
import { setting, DEFAULT_PRETRAIN_DATA, type RecipeName, type TaskSpec } from '../../config/settings.js';

export const CAPTION = {
  name: 'caption',
  description: 'captioning: AR loss on <bos> caption <eos>, evaluated by decoding (BLEU-4, CIDEr-D; semantic accuracy and object recall on shapes) (spec D.11)',
  settings: {
    compat: setting.optChoice('\'official\': the loss on the reconstructor as released (spec H.12)', ['official'] as const, 'the forward stream', { arg: 'mode' }),
    newTokens: setting.bool('add <bos> / <eos> to the vocabulary (official); false reuses <s> / </s>', true),
    beam: setting.int('beam size of the evaluation decoding (1: greedy)', 1, 1, { arg: 'k' }),
  },
  defaults: { data: DEFAULT_PRETRAIN_DATA, evalBatch: 32 },
  evaluation: { description: 'captioning: BLEU-1..4 and CIDEr-D, semantic accuracy and object recall on shapes', ownCommand: true },
  testData: 'shapes:test?n=500&seed=1',
  /**
   * Caption checkpoints before the one trainer evaluated at every save (no evalEvery) and kept the best
   * CIDEr-D as `bestCider` / `eval`.
   */
  upgradeSaved: (st) => {
    const config = { ...(st.config as Record<string, unknown> | undefined) };
    if (config.evalEvery === undefined && typeof config.saveEvery === 'number') config.evalEvery = config.saveEvery;
    const out: Record<string, unknown> = { ...st, config };
    if (out.best === undefined && typeof st.bestCider === 'number') out.best = { step: st.step, selection: st.bestCider, metrics: { cider: st.bestCider } };
    return out;
  },
  help: {
    valData: 'caption data decoded and scored every --eval-every steps and at the end (BLEU-4, CIDEr-D; semantic accuracy and object recall on shapes); best checkpoint by CIDEr-D',
    evalBatch: 'images per decoding batch in evaluation',
    batchSize: 'images per step',
  },
} as const satisfies TaskSpec;

/** What building a caption model reads of the settings. */
export interface CaptionConfigLike {
  from: string | null;
  out: string;
  data: string;
  preset: 'tiny' | 'mini' | 'small' | 'base';
  tokenizer: string | null;
  vocabSize: number | null;
  dropRate: number | null;
  newTokens: boolean;
  recipe: RecipeName;
}
