// The object-token probe (shapes world): a linear probe of each object's shape read from the one image
// token whose patch holds the object's centre, instead of the pooled [CLS ; mean] of probes.ts's
// lp_shape. It asks whether the tower has local shape features at all, apart from whether pooling
// keeps them: every object of a scene is an example, not only the largest one.
import { tensor, tidy, type Tensor } from '../tensor/index.js';
import { SHAPES, type Scene } from '../data/shapes/index.js';
import { linearProbe, type LinearProbeOptions } from './linear-probe.js';

export interface ObjectTokenRows {
  /** [N_objects, W] the token at each object's centre */
  x: Float32Array;
  /** each object's shape (index into SHAPES) */
  y: number[];
  dim: number;
}

/** The patch-grid cell (row-major, 0-based, CLS excluded) that holds the point (x, y) in [0, 1). */
export function cellAt(x: number, y: number, grid: number): number {
  const at = (v: number): number => Math.min(grid - 1, Math.max(0, Math.floor(v * grid)));
  return at(y) * grid + at(x);
}

/**
 * The rows of one batch of tower tokens [n, 1 + G², W] at its scenes' object centres, [n_obj, W] (the
 * objects in scene order); each object's shape is appended to `shapes`.
 */
export function objectRowsOf(tok: Tensor, scenes: readonly Scene[], shapes: number[]): Float32Array {
  return tidy(() => {
    const perImage = tok.size(1);
    const grid = Math.round(Math.sqrt(perImage - 1));
    const dim = tok.size(2);
    const rows: number[] = [];
    scenes.forEach((scene, i) => {
      for (const obj of scene.objects) {
        rows.push(i * perImage + 1 + cellAt(obj.x, obj.y, grid));
        shapes.push(SHAPES.indexOf(obj.shape));
      }
    });
    const at = tensor(Int32Array.from(rows), { shape: [rows.length] }).to('int64'); // [n_obj]
    return tok.reshape(-1, dim).indexSelect(0, at).toTypedArray() as Float32Array; // [n_obj, W]
  });
}

/** Concatenated row blocks. */
export function concatRows(parts: readonly Float32Array[]): Float32Array {
  const x = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    x.set(p, at);
    at += p.length;
  }
  return x;
}

/**
 * lp_shape_local: the linear probe of object shape on object-token rows (imageTowerFeatures'
 * `objects`), fitted on `train`'s and scored on `test`'s objects (each object one
 * item; objects of one image are not independent, so its interval is somewhat narrower than it should
 * be). Null when either has no object.
 */
export function objectShapeProbe(train: ObjectTokenRows, test: ObjectTokenRows, o: LinearProbeOptions = {}): { accuracy: number; correct: number[] } | null {
  if (!train.y.length || !test.y.length) return null;
  const r = linearProbe(train, test, train.dim, SHAPES.length, o);
  return { accuracy: r.accuracy, correct: r.correct };
}
