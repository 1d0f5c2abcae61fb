// The init scale of the layers a run builds new (the whole model from scratch, or the task heads of a
// fine-tune): the official N(0, 0.02) under `--recipe official`, else the fan-in scale (nn/init-scale.ts).
import { withInitScale } from '../../nn/index.js';
import type { RecipeName } from '../../config/settings.js';

export function buildWithRecipeInit<T>(recipe: RecipeName, build: () => T): T {
  return withInitScale(recipe === 'official' ? 'official' : 'fan-in', build);
}
