// Default datasets of the fine-tuning tasks: splits of the built-in shapes world (no imports, so the
// CLI can show them in --help without loading the engine).
export const TASK_DATA = {
  retrieval: { data: 'shapes:train?n=2000&seed=1', valData: 'shapes:val?n=20&seed=1', testData: 'shapes:test?n=40&seed=1' },
  vqa: { data: 'shapes:train?n=2000&seed=1&task=vqa', valData: 'shapes:val?n=50&seed=1&task=vqa', testData: 'shapes:test?n=200&seed=1&task=vqa' },
  nlvr2: { data: 'shapes:train?n=4000&seed=1&task=nlvr2', valData: 'shapes:val?n=100&seed=1&task=nlvr2', testData: 'shapes:test?n=400&seed=1&task=nlvr2' },
} as const;
