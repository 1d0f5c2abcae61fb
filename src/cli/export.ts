// `flm export RUN --out DIR`: a model folder with a model card, from a run, checkpoint or model folder (api/export.ts).
import { Option, type Command } from 'commander';
import { printJson } from './json.js';
import { setExitCode } from './exit-code.js';
import { EXPORT_FORMATS } from '../api/export-formats.js';

interface ExportFlags { out?: string; format: string; which?: string; force?: boolean; json?: boolean }

export function registerExport(p: Command): void {
  p.command('export')
    .description('write a self-contained model folder (config.json, tokenizer.json, model.safetensors, README.md model card) from a run')
    .argument('<run>', 'run folder (its best checkpoint, else the latest), checkpoint folder or model folder')
    .requiredOption('--out <dir>', 'the model folder to write (must not exist or be empty)')
    .addOption(new Option('--format <name>', 'what to write: safetensors = config.json + tokenizer.json + model.safetensors (official PyTorch names, no optimiser state) + README.md').choices([...EXPORT_FORMATS]).default('safetensors'))
    .option('--which <name>', 'checkpoint of a run folder: best | latest | a step folder name (step-00000100)')
    .option('--force', 'replace a non-empty --out folder')
    .option('--json', 'print one JSON object {command, metrics: {step}, out, format, source, task, files}')
    .addHelpText('after', `
The folder works anywhere it is copied to, e.g.:
  flm export runs/cap --out models/cap && flm caption --checkpoint models/cap photo.png
and from JavaScript: (await loadModel('models/cap')).caption('photo.png')`)
    .action(async (run: string, f: ExportFlags, cmd: Command) => {
      const { exportModel } = await import('../api/export.js');
      const r = await exportModel(run, {
        out: f.out!, format: f.format as (typeof EXPORT_FORMATS)[number], ...(f.which !== undefined ? { which: f.which } : {}), force: f.force ?? false,
      });
      if (f.json) printJson('export', { step: r.step }, { out: r.out, format: r.format, source: r.source, task: r.task, files: r.files });
      else console.log(`flm export: the ${r.task} model of ${r.source} (step ${r.step}) written to ${r.out}: ${r.files.join(', ')}`);
      setExitCode(cmd, 0);
    });
}
