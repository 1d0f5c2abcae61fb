// `flm export RUN --out DIR`: a model folder with a model card, from a run, checkpoint or model folder (api/export.ts);
// `--format onnx` the model's ONNX inference graphs, with `--web-demo` a page running them in the browser.
import { Option, type Command } from 'commander';
import { printJson } from './json.js';
import { setExitCode } from './exit-code.js';
import { EXPORT_FORMATS } from '../api/export-formats.js';

interface ExportFlags { out?: string; format: string; which?: string; force?: boolean; json?: boolean; webDemo?: boolean }

export function registerExport(p: Command): void {
  p.command('export')
    .description('write a self-contained model folder (config.json, tokenizer.json, model.safetensors, README.md model card) from a run, or its ONNX inference graphs (--format onnx)')
    .argument('<run>', 'run folder (its best checkpoint, else the latest), checkpoint folder or model folder')
    .requiredOption('--out <dir>', 'the model folder to write (must not exist or be empty)')
    .addOption(new Option('--format <name>', 'what to write: safetensors = config.json + tokenizer.json + model.safetensors (official PyTorch names, no optimiser state) + README.md; onnx = the inference graphs (image_encoder.onnx + the task\'s: caption_step, vqa, rank or nlvr2) + tokenizer.json + manifest.json + README.md').choices([...EXPORT_FORMATS]).default('safetensors'))
    .option('--web-demo', 'with --format onnx: also a static page (index.html) that captions a dropped image, answers a question and ranks captions in the browser (onnxruntime-web)')
    .option('--which <name>', 'checkpoint of a run folder: best | latest | a step folder name (step-00000100)')
    .option('--force', 'replace a non-empty --out folder')
    .option('--json', 'print one JSON object {command, metrics: {step}, out, format, source, task, files}')
    .addHelpText('after', `
The folder works anywhere it is copied to, e.g.:
  flm export runs/cap --out models/cap && flm caption --checkpoint models/cap photo.png
and from JavaScript: (await loadModel('models/cap')).caption('photo.png')
For browsers and other ONNX runtimes (caption, vqa, retrieval and nlvr2 models):
  flm export runs/cap --format onnx --web-demo --out models/cap-onnx && cd models/cap-onnx && python3 -m http.server`)
    .action(async (run: string, f: ExportFlags, cmd: Command) => {
      const { exportModel } = await import('../api/export.js');
      const r = await exportModel(run, {
        out: f.out!, format: f.format as (typeof EXPORT_FORMATS)[number], ...(f.which !== undefined ? { which: f.which } : {}), force: f.force ?? false,
        webDemo: f.webDemo ?? false,
      });
      if (f.json) printJson('export', { step: r.step }, { out: r.out, format: r.format, source: r.source, task: r.task, files: r.files });
      else {
        const shown = r.files.filter((x) => !x.startsWith('lib/') && !x.startsWith('vendor/'));
        const more = r.files.length - shown.length;
        console.log(`flm export: the ${r.task} model of ${r.source} (step ${r.step}) written to ${r.out}: ${shown.join(', ')}${more ? ` (+ ${more} files in lib/ and vendor/)` : ''}`);
      }
      setExitCode(cmd, 0);
    });
}
