// `flm convert`: official FLM checkpoints, or Hugging Face CLIP + RoBERTa / BERT weights, into a flm
// model folder (convert/convert.ts).
import type { Command } from 'commander';
import { printJson } from './json.js';
import { num } from './config-file.js';
import { setExitCode } from './exit-code.js';

interface ConvertFlags {
  official?: string; clip?: string; text?: string; preset?: string; modelConfig?: string; single?: boolean; allowPickle?: boolean;
  strict?: boolean; seed?: string; tokenizer?: string; out?: string; json?: boolean;
}

const PRESET_NAMES = ['tiny', 'mini', 'small', 'base'] as const;
type Preset = (typeof PRESET_NAMES)[number];

function checkFlags(f: ConvertFlags): { preset?: Preset; out: string } {
  if (!f.out) throw new Error('flm convert: --out DIR is required');
  const hf = f.clip !== undefined || f.text !== undefined;
  if (f.official !== undefined && hf) throw new Error('flm convert: give either --official FILE or --clip / --text, not both');
  if (f.official === undefined && !hf) throw new Error('flm convert: give --official FILE, or --clip FILE and/or --text FILE');
  if (f.modelConfig !== undefined && f.official === undefined) throw new Error('flm convert: --model-config goes with --official');
  if (f.modelConfig !== undefined && f.preset !== undefined) throw new Error('flm convert: give --preset or --model-config, not both');
  if (f.single && f.official !== undefined) throw new Error('flm convert: --single goes with --clip / --text (an official checkpoint says which model it is)');
  if (f.preset !== undefined && !(PRESET_NAMES as readonly string[]).includes(f.preset)) {
    throw new Error(`flm convert: --preset must be one of ${PRESET_NAMES.join(', ')}, got '${f.preset}'`);
  }
  return { ...(f.preset !== undefined ? { preset: f.preset as Preset } : {}), out: f.out };
}

export function registerConvert(p: Command): void {
  p.command('convert')
    .description('convert an official FLM checkpoint, or Hugging Face CLIP + RoBERTa weights, into a flm model folder')
    .option('--official <file>', 'official FLM state dict: safetensors, or .ckpt / .pt with --allow-pickle')
    .option('--clip <file>', 'Hugging Face CLIP (ViT-B/32) vision weights, safetensors -> vit_model')
    .option('--text <file>', 'Hugging Face RoBERTa (or BERT) weights, safetensors -> text_transformer')
    .option('--preset <name>', `model size: ${PRESET_NAMES.join(' | ')} (default for --clip / --text: base)`)
    .option('--model-config <file>', 'with --official: the exact model config (JSON) instead of --preset')
    .option('--single', 'with --clip / --text: the single-stream (MLM / AR / ITM) model instead of the three-stream FLM model')
    .option('--allow-pickle', 'read torch.save files (.ckpt / .pt / .bin); pickle is unsafe for untrusted files')
    .option('--strict', 'with --official: fail on missing or unexpected names too')
    .option('--seed <n>', 'seed of the fresh init (default 0)')
    .option('--tokenizer <file>', 'a tokenizer.json to copy into the output folder')
    .option('--out <dir>', 'output folder: model.safetensors, config.json, state.json, convert-report.json')
    .option('--json', 'print the conversion report as JSON')
    .addHelpText('after', `
Examples:
  flm convert --official flm.safetensors --preset base --out models/flm-base
  flm convert --official flm.ckpt --allow-pickle --preset base --out models/flm-base
  flm convert --clip clip-vit-base-patch32.safetensors --text roberta-base.safetensors --preset base --out models/init
The output folder initialises pretraining (--init OUT/model.safetensors) and, with a tokenizer.json,
is a checkpoint folder for \`flm finetune --from OUT\`.`)
    .action(async (f: ConvertFlags, cmd: Command) => {
      const { preset, out } = checkFlags(f);
      const seed = num('seed', f.seed, { int: true, min: 0 }) ?? 0;
      const { convertOfficial, convertHf, groupByModule } = await import('../convert/convert.js');
      const common = { out, seed, ...(f.tokenizer !== undefined ? { tokenizer: f.tokenizer } : {}), allowPickle: f.allowPickle ?? false };
      const r = f.official !== undefined
        ? convertOfficial(f.official, { ...common, strict: f.strict ?? false, ...(preset ? { preset } : {}), ...(f.modelConfig !== undefined ? { configJson: f.modelConfig } : {}) })
        : convertHf({ ...common, single: f.single ?? false, ...(preset ? { preset } : {}), ...(f.clip !== undefined ? { clip: f.clip } : {}), ...(f.text !== undefined ? { text: f.text } : {}) });
      if (f.json) printJson('convert', { loaded: r.loaded, missing: r.missing.length, unexpected: r.unexpected.length }, { ...r });
      else {
        const lines = [
          `flm convert: ${r.model} (${r.task}) from ${Object.values(r.inputs).join(' + ')}: ${r.loaded} tensors loaded, ${r.written} names written to ${out}/model.safetensors`,
          `  config: ${r.config.source}${r.config.notes.length ? `; ${r.config.notes.join('; ')}` : ''}`,
          ...r.resized.map((x) => `  resized: ${x}`),
          ...(r.missing.length ? [`  missing (fresh init): ${groupByModule(r.missing).join(', ')}`] : []),
          ...(r.unexpected.length ? [`  unexpected (not written): ${groupByModule(r.unexpected).join(', ')}`] : []),
          ...r.dropped.map((x) => `  dropped: ${x}`),
          ...r.notes.map((x) => `  note: ${x}`),
          `  wrote ${out}/{model.safetensors, config.json, state.json, convert-report.json}`,
        ];
        console.log(lines.join('\n'));
      }
      setExitCode(cmd, 0);
    });
}
