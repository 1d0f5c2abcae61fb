// The model card of an exported model folder (README.md): what the model is, what it was trained on,
// its metrics (the checkpoint's state.json: best and last evaluation, final loss), the command that
// made it, and how to use it.
import type { ModelFolderConfig } from '../train/model-folder.js';
import { commandLineOf, shellWord } from '../config/command-line.js';
import { taskEntry } from '../tasks/registry.js';

/** The training record of a checkpoint (state.json), as far as the card uses it. */
export interface TrainingRecord {
  elapsedS?: number;
  lastLoss?: number | null;
  best?: { step: number; metrics: Record<string, number> } | null;
  lastEval?: { step: number; metrics: Record<string, number> } | null;
}

const WHAT: Record<string, string> = {
  pretrain: 'pretrained, no task head fine-tuned (scores image-text pairs by its own pretraining loss; features)',
  retrieval: 'image-text retrieval (a rank head on the fused image-text features)',
  vqa: 'visual question answering (a classifier over a fixed answer vocabulary)',
  nlvr2: 'NLVR2-style reasoning (whether a statement is true of a pair of images)',
  caption: 'image captioning (autoregressive decoding on the forward text stream)',
};

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(4));
const metricLine = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');

function usage(task: string, name: string): string[] {
  const dir = shellWord(name);
  const cli: Record<string, string> = {
    pretrain: `flm retrieve --checkpoint ${dir} --images photos/ --text "a red circle"`,
    retrieval: `flm retrieve --checkpoint ${dir} --images photos/ --text "a red circle"`,
    vqa: `flm vqa --checkpoint ${dir} photo.png "what colour is the circle?"`,
    nlvr2: `flm eval nlvr2 --checkpoint ${dir} --data 'nlvr2:dev.json?images=DIR'`,
    caption: `flm caption --checkpoint ${dir} photo.png --beam 3`,
  };
  const lib: Record<string, string> = {
    pretrain: `const { scores } = await model.score(['photo.png'], ['a red circle', 'two blue squares']);`,
    retrieval: `const { scores } = await model.score(['photo.png'], ['a red circle', 'two blue squares']);`,
    vqa: `const { answer } = await model.answer('photo.png', 'what colour is the circle?');`,
    nlvr2: `const { label } = await model.judge(['left.png', 'right.png'], 'there is a red circle in both images');`,
    caption: `const { caption } = await model.caption('photo.png', { beam: 3 });`,
  };
  return [
    '```sh', cli[task] ?? `flm embed --checkpoint ${dir} --images photos/ --out features.safetensors`, '```', '',
    '```js', `import { loadModel } from 'flm';`, `const model = await loadModel('${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}');`,
    lib[task] ?? `const { vectors } = await model.embed({ images: ['photo.png'] });`, 'model.dispose();', '```',
  ];
}

/** README.md of a model folder. `name`: how the usage examples refer to the folder. */
export function modelCard(cfg: ModelFolderConfig, record: TrainingRecord | null, o: { name: string; source: string }): string {
  const m = cfg.model;
  const s = cfg.settings;
  const str = (k: string): string | null => (typeof s[k] === 'string' ? (s[k] as string) : null);
  let command: string | null = null;
  try {
    command = commandLineOf(taskEntry(cfg.task).spec, s);
  } catch {
    /* a task this flm does not know: no command line */
  }
  const arch = m.flm_backbone ? 'three-stream FLM model (forward and reverse text streams, reconstructor)' : 'single-stream model';
  const rows: [string, string][] = [
    ['task', `${cfg.task}: ${WHAT[cfg.task] ?? 'a custom task'}`],
    ['model', `${arch}; ${str('preset') ? `preset ${str('preset')}, ` : ''}hidden ${m.hidden_size}, ${m.num_bottom_layer} + ${m.num_top_layer} text layers, ViT width ${m.vit_arch.width} with ${m.vit_arch.num_resblocks} blocks${m.vit_arch.conv_stem?.length ? ` after a convolutional stem (${m.vit_arch.conv_stem.join(', ')} channels)` : ''}, ${m.image_size} px images, ${m.max_text_len} text tokens, vocabulary ${m.vocab_size}`],
    ...(typeof s.objective === 'string' ? [['objective', String(s.objective)] as [string, string]] : []),
    ['trained on', str('data') ? `\`${str('data')}\`` : 'unknown'],
    ...(str('valData') ? [['evaluated on', `\`${str('valData')}\``] as [string, string]] : []),
    ...(str('from') ? [['initialised from', `\`${str('from')}\``] as [string, string]] : []),
    ['steps', `${cfg.step}${typeof s.steps === 'number' && s.steps !== cfg.step ? ` of ${s.steps}` : ''}${typeof record?.elapsedS === 'number' ? `, ${record.elapsedS.toFixed(1)} s of training` : ''}`],
    ['exported from', `\`${o.source}\``],
  ];
  const metrics: string[] = [];
  if (record?.best) metrics.push(`- best evaluation (step ${record.best.step}): ${metricLine(record.best.metrics)}`);
  if (record?.lastEval && (record.lastEval.step !== record.best?.step)) metrics.push(`- last evaluation (step ${record.lastEval.step}): ${metricLine(record.lastEval.metrics)}`);
  if (typeof record?.lastLoss === 'number') metrics.push(`- final training loss: ${fmt(record.lastLoss)}`);
  if (metrics.length === 0) metrics.push('- none recorded (trained without --val-data, or exported from a folder without state.json)');
  return [
    `# ${o.name}: flm ${cfg.task} model`, '',
    `A vision-language model trained with [flm](https://github.com/flm-project/flm) (Free Language Modeling, Wang et al., CVPR 2023), step ${cfg.step}.`, '',
    '| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`), '',
    '## Metrics', '', ...metrics, '',
    ...(command ? ['## The command that made it', '', '```sh', command, '```', ''] : []),
    '## Use it', '', `From the folder that holds \`${o.name}/\`:`, '', ...usage(cfg.task, o.name), '',
    '## Files', '',
    '- `config.json`: the model config (official names), the tokenizer settings, the task head (`head`) and the training settings',
    '- `tokenizer.json`: the Hugging Face tokenizer the model was trained with',
    '- `model.safetensors`: the weights with the official PyTorch state-dict names (`safetensors.torch.load_file` reads them)',
    '',
  ].join('\n');
}
