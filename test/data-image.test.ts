import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { CLIP_MEAN, CLIP_STD, decodeRgb, loadImageTensor, loadRgb, normalizeClip } from '../src/data/image.js';
import { applyOp, randAugment, RANDAUG_OPS, type RgbImage } from '../src/data/randaugment.js';
import { BAD_IMAGES, GOOD_IMAGES, makeImages, tempDir, type ImageFixtures } from './data-fixtures.js';

const clip = (rgb: readonly number[]): number[] => rgb.map((v, c) => (v / 255 - (CLIP_MEAN[c] as number)) / (CLIP_STD[c] as number));

function channelMeans(t: Float32Array, size: number): number[] {
  const plane = size * size;
  return [0, 1, 2].map((c) => {
    let s = 0;
    for (let i = 0; i < plane; i++) s += t[c * plane + i] as number;
    return s / plane;
  });
}

function close(actual: readonly number[], expected: readonly number[], tol: number, what: string): void {
  actual.forEach((a, i) => assert.ok(Math.abs(a - (expected[i] as number)) <= tol, `${what}[${i}]: ${a} vs ${expected[i]}`));
}

let fx: ImageFixtures;
let cleanup: () => Promise<void>;
before(async () => {
  const t = await tempDir('image');
  cleanup = t.cleanup;
  fx = await makeImages(t.dir);
});
after(() => cleanup());

describe('image pipeline', () => {
  it('normalises with the CLIP mean/std into Float32 CHW [3, S, S]', async () => {
    const t = await loadImageTensor({ kind: 'path', path: fx.paths.blue_png as string }, { size: 16 });
    assert.equal(t.length, 3 * 16 * 16);
    close(channelMeans(t, 16), clip([0, 0, 255]), 1e-5, 'blue');
    // Every pixel equals the solid colour (not only the mean).
    assert.ok(Math.abs((t[0] as number) - (clip([0, 0, 255])[0] as number)) < 1e-5);
    assert.ok(Math.abs((t[3 * 256 - 1] as number) - (clip([0, 0, 255])[2] as number)) < 1e-5);
  });

  it('decodes JPEG, PNG, WebP, palette, grey and 16-bit images to RGB', async () => {
    const expected: Record<(typeof GOOD_IMAGES)[number], number[]> = {
      red_jpg: [254, 0, 0], blue_png: [0, 0, 255], green_webp: [0, 255, 0], palette_png: [10, 200, 30],
      grey_png: [90, 90, 90], deep16_png: [200, 100, 50], rgba_png: [255, 255, 255],
    };
    for (const name of GOOD_IMAGES) {
      const t = await loadImageTensor({ kind: 'path', path: fx.paths[name] as string }, { size: 8 });
      assert.equal(t.length, 3 * 64, name);
      // JPEG chroma and rounding: 2/255 of tolerance in pixel units.
      close(channelMeans(t, 8), clip(expected[name]), name === 'red_jpg' ? 3 / 255 / 0.26 : 1e-4, name);
    }
  });

  it('composites transparency onto the background colour (white by default)', async () => {
    const ref = { kind: 'path' as const, path: fx.paths.rgba_png as string };
    close(channelMeans(await loadImageTensor(ref, { size: 8 }), 8), clip([255, 255, 255]), 1e-5, 'white');
    close(channelMeans(await loadImageTensor(ref, { size: 8, background: [0, 128, 0] }), 8), clip([0, 128, 0]), 1e-5, 'green');
  });

  it('reads bytes and raw RGB references', async () => {
    const fromBytes = await loadImageTensor({ kind: 'bytes', bytes: fx.bytes.blue_png as Buffer, origin: 'x' }, { size: 4 });
    close(channelMeans(fromBytes, 4), clip([0, 0, 255]), 1e-5, 'bytes');
    const raw = new Uint8Array(6 * 4 * 3).fill(100);
    const fromRaw = await loadImageTensor({ kind: 'raw', data: raw, width: 6, height: 4, origin: 'r' }, { size: 4 });
    close(channelMeans(fromRaw, 4), clip([100, 100, 100]), 1e-5, 'raw');
  });

  it('resizes the shorter side and centre-crops', async () => {
    // 96 x 32: red | green | blue stripes of 32 px; the centre crop keeps green only.
    const w = 96;
    const h = 32;
    const buf = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) buf[(y * w + x) * 3 + Math.floor(x / 32)] = 255;
    const rgb = await loadRgb({ kind: 'raw', data: buf, width: w, height: h, origin: 'stripes' }, { size: 16 });
    assert.equal(rgb.length, 16 * 16 * 3);
    const px = (x: number, y: number): number[] => Array.from(rgb.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
    for (const [x, y] of [[2, 2], [8, 8], [13, 13]] as const) {
      const [r, g, b] = px(x, y) as [number, number, number];
      assert.ok(g > 200 && r < 40 && b < 40, `pixel ${x},${y} = ${px(x, y)}`);
    }
    const { width, height } = await decodeRgb({ kind: 'raw', data: buf, width: w, height: h, origin: 'stripes' });
    assert.deepEqual([width, height], [96, 32]);
  });

  it('rejects corrupt, truncated and missing images', async () => {
    for (const name of BAD_IMAGES) {
      await assert.rejects(loadImageTensor({ kind: 'path', path: fx.paths[name] as string }, { size: 8 }), name);
    }
    await assert.rejects(loadImageTensor({ kind: 'bytes', bytes: fx.bytes.truncated_jpg as Buffer, origin: 't' }, { size: 8 }));
  });

  it('normalizeClip writes at an offset into a batch buffer', () => {
    const out = new Float32Array(2 * 3 * 4);
    normalizeClip(new Uint8Array(12).fill(255), 2, out, 12);
    assert.equal(out[0], 0);
    close([out[12] as number, out[16] as number, out[20] as number], clip([255, 255, 255]), 1e-6, 'offset');
  });

  it('applies RandAugment on the original-size image before the resize, seeded', async () => {
    const ref = { kind: 'path' as const, path: fx.paths.red_jpg as string };
    const a = await loadImageTensor(ref, { size: 16, augment: { seed: 7 } });
    const b = await loadImageTensor(ref, { size: 16, augment: { seed: 7 } });
    assert.deepEqual(a, b);
    let differs = false;
    for (let s = 0; s < 8 && !differs; s++) {
      const c = await loadImageTensor(ref, { size: 16, augment: { seed: 100 + s } });
      differs = c.some((v, i) => v !== a[i]);
    }
    assert.ok(differs, 'different seeds give different augmentations');
  });
});

function image(w: number, h: number, f: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3);
  return { data, width: w, height: h };
}

const at = (img: RgbImage, x: number, y: number): number[] => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

describe('RandAugment ops (PIL semantics)', () => {
  const ramp = image(16, 16, (x, y) => [x * 8 + 40, y * 8 + 40, 100]);

  it('has the 14 ops of spec E.4 with their ranges', () => {
    assert.deepEqual(RANDAUG_OPS.map((o) => o.name), [
      'AutoContrast', 'Equalize', 'Rotate', 'Posterize', 'Solarize', 'SolarizeAdd', 'Color', 'Contrast', 'Brightness', 'Sharpness',
      'ShearX', 'ShearY', 'TranslateXabs', 'TranslateYabs',
    ]);
    assert.deepEqual(RANDAUG_OPS.find((o) => o.name === 'TranslateXabs'), { ...RANDAUG_OPS.find((o) => o.name === 'TranslateXabs'), min: 0, max: 100 });
  });

  it('AutoContrast stretches each channel to 0..255; Equalize spreads the histogram', () => {
    const out = applyOp('AutoContrast', ramp, 0);
    assert.deepEqual(at(out, 0, 0).slice(0, 2), [0, 0]);
    assert.deepEqual(at(out, 15, 15).slice(0, 2), [255, 255]);
    assert.equal(at(out, 3, 3)[2], 100, 'a constant channel is left alone');
    const big = image(64, 64, (x) => [x * 2 + 40, 0, 0]);
    const eq = applyOp('Equalize', big, 0);
    assert.equal(at(eq, 0, 0)[0], 0);
    assert.ok((at(eq, 63, 0)[0] as number) > 240);
    // PIL: with too few pixels per level (step 0) the LUT is the identity.
    assert.deepEqual(applyOp('Equalize', ramp, 0), ramp);
  });

  it('Posterize, Solarize, SolarizeAdd and Brightness follow their LUTs', () => {
    const px = image(1, 1, () => [200, 77, 10]);
    assert.deepEqual(at(applyOp('Posterize', px, 1.2), 0, 0), [128, 0, 0]);
    assert.deepEqual(at(applyOp('Solarize', px, 76.8), 0, 0), [55, 178, 10]);
    assert.deepEqual(at(applyOp('SolarizeAdd', px, 33), 0, 0), [22, 110, 43]);
    assert.deepEqual(at(applyOp('Brightness', px, 0.64), 0, 0), [128, 49, 6]);
    assert.deepEqual(at(applyOp('Color', image(1, 1, () => [90, 90, 90]), 0.3), 0, 0), [90, 90, 90]);
  });

  it('translates with a black fill and rotates about the centre', () => {
    const t = applyOp('TranslateXabs', ramp, 4, 1);
    const sign = at(t, 0, 0)[0] === 0 ? -1 : 1;
    // Either direction: the image moved by 4 px and the uncovered columns are black.
    if (sign === 1) assert.deepEqual(at(t, 0, 5), at(ramp, 4, 5));
    else assert.deepEqual(at(t, 4, 5), at(ramp, 0, 5));
    const r = applyOp('Rotate', image(4, 4, (x) => (x < 2 ? [255, 0, 0] : [0, 0, 255])), 90, 0);
    assert.equal(r.width, 4);
    const top = at(r, 1, 0);
    const bottom = at(r, 1, 3);
    assert.notDeepEqual(top, bottom, 'a 90 degree turn makes the vertical split horizontal');
  });

  it('randAugment is a pure function of (image, seed) and keeps the size', () => {
    const a = randAugment(ramp, 3);
    const b = randAugment(ramp, 3);
    assert.deepEqual(a, b);
    assert.equal(a.data.length, ramp.data.length);
  });

  it('decoded sharp output feeds RandAugment at full size', async () => {
    const png = await sharp({ create: { width: 50, height: 30, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
    const full = await decodeRgb({ kind: 'bytes', bytes: png, origin: 'p' });
    assert.deepEqual([full.width, full.height], [50, 30]);
    assert.equal(randAugment(full, 1).data.length, 50 * 30 * 3);
  });
});
