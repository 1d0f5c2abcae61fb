import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  type ScheduleConfig,
  ScheduleConfigError,
  lrFactor,
  resolveWarmupSteps,
  scheduledLr,
  validateScheduleConfig,
} from '../src/train/schedule.js';

function close(actual: number, expected: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= 1e-12, `${what} expected ${expected}, got ${actual}`);
}

describe('polynomial decay with warmup (transformers get_polynomial_decay_schedule_with_warmup)', () => {
  const linear: ScheduleConfig = { kind: 'polynomial', totalSteps: 110, warmup: 10, lrInit: 1e-4 };

  it('warms up linearly from 0, then decays linearly to lr_end = 0', () => {
    close(lrFactor(linear, 0), 0, 'step 0 (first optimizer step uses lr 0)');
    close(lrFactor(linear, 5), 0.5);
    close(lrFactor(linear, 10), 1);
    close(lrFactor(linear, 60), 0.5);
    close(lrFactor(linear, 110), 0);
    close(lrFactor(linear, 500), 0);
  });

  it('decays towards lr_end and stays there after the total', () => {
    const c: ScheduleConfig = { ...linear, lrEnd: 1e-5 };
    // ((1e-4 - 1e-5) * 0.5 + 1e-5) / 1e-4
    close(lrFactor(c, 60), 0.55);
    close(lrFactor(c, 110), 0.1);
    close(lrFactor(c, 111), 0.1);
  });

  it('raises the remaining fraction to the power', () => {
    close(lrFactor({ ...linear, power: 2 }, 60), 0.25);
    close(lrFactor({ ...linear, power: 0.5 }, 60), Math.sqrt(0.5));
  });

  it('reads a fractional warmup as int(total * warmup)', () => {
    assert.equal(resolveWarmupSteps(0.1, 1000), 100);
    assert.equal(resolveWarmupSteps(0.1, 15), 1);
    assert.equal(resolveWarmupSteps(7, 15), 7);
    const c: ScheduleConfig = { kind: 'polynomial', totalSteps: 1000, warmup: 0.1, lrInit: 1 };
    close(lrFactor(c, 50), 0.5);
    close(lrFactor(c, 100), 1);
    close(lrFactor(c, 550), 0.5);
  });

  it('starts at full lr without warmup', () => {
    close(lrFactor({ ...linear, warmup: 0 }, 0), 1);
  });

  it('scales a group lr', () => {
    close(scheduledLr(linear, 5e-4, 60), 2.5e-4);
  });
});

describe('cosine with warmup (transformers get_cosine_schedule_with_warmup)', () => {
  const cos: ScheduleConfig = { kind: 'cosine', totalSteps: 110, warmup: 10 };

  it('follows half a cosine from 1 to 0 after warmup', () => {
    close(lrFactor(cos, 5), 0.5);
    close(lrFactor(cos, 10), 1);
    close(lrFactor(cos, 60), 0.5);
    close(lrFactor(cos, 110), 0);
  });

  it('keeps the transformers behaviour past the total (the factor rises again)', () => {
    close(lrFactor(cos, 160), 0.5);
  });

  it('honours numCycles', () => {
    close(lrFactor({ ...cos, numCycles: 1 }, 60), 0);
    close(lrFactor({ ...cos, numCycles: 1 }, 110), 1);
  });
});

describe('schedule validation', () => {
  const ok: ScheduleConfig = { kind: 'polynomial', totalSteps: 100, warmup: 10, lrInit: 1e-4 };
  const bad: [string, ScheduleConfig, RegExp][] = [
    ['zero total', { ...ok, totalSteps: 0 }, /totalSteps must be a positive integer/],
    ['fractional total', { ...ok, totalSteps: 10.5 }, /totalSteps must be a positive integer/],
    ['negative warmup', { ...ok, warmup: -1 }, /warmup must be >= 0/],
    ['warmup above total', { ...ok, warmup: 200 }, /must be smaller than totalSteps/],
    ['warmup equal to total', { ...ok, warmup: 100 }, /must be smaller than totalSteps/],
    ['warmup 1.5', { ...ok, warmup: 1.5 }, /neither an integer step count nor a fraction/],
    ['NaN warmup', { ...ok, warmup: NaN }, /warmup must be a finite number/],
    ['lr_end >= lr_init', { ...ok, lrEnd: 1e-4 }, /lrEnd \(0.0001\) must be smaller than lrInit/],
    ['negative lr_end', { ...ok, lrEnd: -1 }, /lrEnd must be >= 0/],
    ['zero power', { ...ok, power: 0 }, /power must be > 0/],
    ['cosine warmup above total', { kind: 'cosine', totalSteps: 10, warmup: 11 }, /must not exceed totalSteps/],
    ['cosine zero cycles', { kind: 'cosine', totalSteps: 10, warmup: 1, numCycles: 0 }, /numCycles must be > 0/],
  ];
  for (const [what, config, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(() => validateScheduleConfig(config), (e: unknown) => e instanceof ScheduleConfigError && message.test(e.message));
      assert.throws(() => lrFactor(config, 1), ScheduleConfigError);
    });
  }

  it('rejects an unknown kind', () => {
    const c = JSON.parse('{"kind":"step","totalSteps":10,"warmup":1}') as ScheduleConfig;
    assert.throws(() => validateScheduleConfig(c), /unknown schedule kind 'step'/);
  });

  it('rejects negative or fractional steps', () => {
    assert.throws(() => lrFactor(ok, -1), /step must be a non-negative integer/);
    assert.throws(() => lrFactor(ok, 1.5), /step must be a non-negative integer/);
  });

  it('accepts a valid config', () => {
    assert.doesNotThrow(() => validateScheduleConfig(ok));
    assert.doesNotThrow(() => validateScheduleConfig({ kind: 'cosine', totalSteps: 10, warmup: 10 }));
  });
});
