/**
 * How fast the mini preset's image tower learns what the shapes world asks of it, stem by stem. Writes
 * shapes-world scenes (48 px) with multi-hot labels — which shapes, colours and colour-shape pairs are in
 * the picture, and how many objects — then trains the tower alone (a ViT of the mini preset's shape: width
 * 128, 2 blocks, 36 image tokens, exact GELU and PyTorch's default init, + a linear layer, BCE) with PyTorch (`bench/tower_probe.py`), once per
 * stem, and prints test-set scores at four points of each run. PyTorch, not flm, so the probe does not
 * share a bug with what it checks. A stem is `patch` (CLIP's 8x8 patch embedding), `conv:C1,C2`
 * (3x3 stride-2 convolutions + GELU, then a 3x3 stride-2 patch projection: the mini preset's
 * vit_arch.conv_stem) or `conv:C1,C2,C3` (then a 1x1 projection).
 *
 *   node dist/bench/tower.js [--steps 1200] [--lr 1e-3] [--stems 'patch;conv:64,128'] [--python /usr/bin/python3]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COLOURS, SHAPES, ShapesWorld, type ShapesSplit } from '../src/data/shapes/index.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '1200' }, lr: { type: 'string', default: '1e-3' },
    stems: { type: 'string', default: 'patch;conv:64,128' }, python: { type: 'string', default: '/usr/bin/python3' },
    train: { type: 'string', default: '20000' }, test: { type: 'string', default: '1000' },
  },
});
const SIZE = 48;
/** label layout: shapes (6), colours (7), colour x shape (42), object count 1..4 (4) */
const LABELS = SHAPES.length + COLOURS.length + COLOURS.length * SHAPES.length + 4;

function write(dir: string, split: ShapesSplit, n: number): void {
  const world = new ShapesWorld({ seed: 1, n, imageSize: SIZE, split });
  const images = Buffer.alloc(n * SIZE * SIZE * 3);
  const labels = new Uint8Array(n * LABELS);
  for (let i = 0; i < n; i++) {
    const scene = world.scene(i);
    images.set(world.image(i, SIZE, scene), i * SIZE * SIZE * 3);
    const row = i * LABELS;
    for (const o of scene.objects) {
      const s = SHAPES.indexOf(o.shape);
      const c = COLOURS.indexOf(o.colour);
      labels[row + s] = 1;
      labels[row + SHAPES.length + c] = 1;
      labels[row + SHAPES.length + COLOURS.length + c * SHAPES.length + s] = 1;
    }
    labels[row + LABELS - 4 + Math.min(4, scene.objects.length) - 1] = 1;
  }
  writeFileSync(join(dir, `${split}.img`), images);
  writeFileSync(join(dir, `${split}.lab`), labels);
}

const dir = mkdtempSync(join(tmpdir(), 'flm-tower-'));
try {
  write(dir, 'train', Number(args.train));
  write(dir, 'test', Number(args.test));
  const script = fileURLToPath(new URL('../../bench/tower_probe.py', import.meta.url));
  const r = spawnSync(args.python!, [script, dir, args.train!, args.test!, args.steps!, args.lr!, ...args.stems!.split(';')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${args.python} ${script} failed (${r.error?.message ?? `exit ${r.status}`})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
