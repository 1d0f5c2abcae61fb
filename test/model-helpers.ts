// Test helpers for models.
import type { FLMBackbone } from '../src/models/single-stream.js';

/**
 * Records, for every later forward of the model's first text layer, the size of its input's first
 * axis: B (or 2B) for the padded grid [B, L, H], the number of rows N for packed rows [N, H].
 */
export function textRowsSeen(model: FLMBackbone): number[] {
  const seen: number[] = [];
  const layer = model.text_transformer.layers[0]!;
  const plain = layer.forward.bind(layer);
  layer.forward = (h, m, r) => {
    seen.push(h.shape[0]!);
    return plain(h, m, r);
  };
  return seen;
}
