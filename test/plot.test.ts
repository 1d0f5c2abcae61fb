// The SVG curves: tick values, and charts of series that are flat but for float rounding (a
// data-parallel caption run once drew BLEU values 1 ulp apart and looped forever building ticks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineChartSvg, niceTicks } from '../src/train/plot.js';

test('ticks: round steps covering the range', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 47), [10, 20, 30, 40]);
  assert.deepEqual(niceTicks(2e-10, 1.1e-9), [2e-10, 4e-10, 6e-10, 8e-10, 1e-9]);
});

test('a range a few ulps wide gets one tick, and its chart is drawn', () => {
  const y = 5.872882843017578;
  assert.deepEqual(niceTicks(y, y + 2 * Number.EPSILON * y), [y]);
  const svg = lineChartSvg('bleu2', 'step', 'bleu2', [{ name: 'val', points: [[2, y], [4, y + Number.EPSILON * y]] }]);
  assert.ok(svg.length < 20_000 && svg.includes('<path'), `${svg.length} characters`);
});
