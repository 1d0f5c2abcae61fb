// FLM / single-stream model parity with the golden fixtures (fixtures/flm-tiny, README.md there):
// every forward output, loss and gradient of cases.safetensors within config.json's tolerances, the
// official state_dict layout, alias handling, configs, presets and the positional-embedding resize.
import { settledTensorCount } from './tensor-helpers.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { F, Tensor, manualSeed, memory, noGrad, randn, tensor, tidy } from '../src/tensor/index.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import { StateDictError } from '../src/nn/module.js';
import {
  ConfigError, FLMModel, PRESETS, SingleStreamModel, createModel, flmConfig, loadOfficialWeights, resizePositionalEmbedding,
  singleConfig, validateConfig, withOverrides, type FLMConfig,
} from '../src/models/index.js';
import { runParity, type ParityResult } from '../src/verify/model-parity.js';

const DIR = fileURLToPath(new URL('../../fixtures/flm-tiny', import.meta.url));
const fixture = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as {
  models: { flm: { config: unknown }; single: { config: unknown } };
};
const flmCfg = (): FLMConfig => validateConfig(fixture.models.flm.config);
const singleCfg = (): FLMConfig => validateConfig(fixture.models.single.config);
const load = (name: string): Map<string, Tensor> => loadSafetensors(join(DIR, name)).tensors;
const disposeAll = (m: Map<string, Tensor>): void => m.forEach((t) => t.dispose());

// ------------------------------------------------------------------------------------ golden values
let parity: ParityResult | null = null;
function result(): ParityResult {
  parity ??= runParity(DIR);
  return parity;
}
function assertGroup(prefix: string, minRows: number): void {
  const rows = result().rows.filter((r) => r.name.startsWith(prefix));
  assert.ok(rows.length >= minRows, `${prefix}: expected at least ${minRows} rows, got ${rows.length}`);
  const bad = rows.filter((r) => !r.ok).map((r) => `${r.name}: max|diff| ${r.maxAbsDiff} (atol ${r.atol}) ${r.note ?? ''}`);
  assert.deepEqual(bad, [], bad.join('\n'));
}

test('parity: every fixture tensor is compared and passes', () => {
  const r = result();
  const cases = loadSafetensors(join(DIR, 'cases.safetensors')).tensors;
  const compared = new Set(r.rows.map((x) => x.name));
  const outputs = [...cases.keys()].filter((k) => !k.startsWith('input.'));
  disposeAll(cases);
  assert.deepEqual(outputs.filter((k) => !compared.has(k)), []);
  assert.ok(r.ok, r.rows.filter((x) => !x.ok).map((x) => x.name).join(', '));
});
test('parity: FLM streams, reconstructor, cls_feats and logits (both bi masks)', () => {
  assertGroup('flm.image_embeds', 1);
  assertGroup('flm.embed.', 4);
  assertGroup('flm.bottom.', 2);
  assertGroup('flm.cross_in.', 3);
  assertGroup('flm.top.', 2);
  for (const v of ['corr', 'rate0']) {
    for (const k of ['bottom.rec', 'cross_in.rec', 'top.rec', 'cls_feats', 'logits']) assertGroup(`flm.${v}.${k}`, 1);
  }
});
test('parity: FLM losses (main, l2r, r2l, combined)', () => {
  assertGroup('flm.aux.', 6);
  assertGroup('flm.corr.loss_', 2);
  assertGroup('flm.rate0.loss_', 2);
});
test('parity: FLM gradients of the combined loss', () => {
  assertGroup('flm.corr.grad.', 13);
  assertGroup('flm.rate0.grad.', 13);
});
test('parity: single-stream MLM (forward, loss, gradients)', () => {
  assertGroup('single.image_embeds', 1);
  assertGroup('single.mlm.', 8);
});
test('parity: single-stream AR (causal mask)', () => assertGroup('single.ar.', 5));
test('parity: single-stream ITM (official cls_feats behind compat)', () => assertGroup('single.itm.', 5));
test('parity: state_dict keys in the official order', () => assertGroup('flm.state_dict_keys', 1));
test('parity: masks and corruption statistics (src/objectives)', () => {
  assertGroup('flm.mask.', 2);
  assertGroup('single.mask.', 2);
  assertGroup('mask.', 18);
  assertGroup('stats.', 5);
});
test('parity: runParity leaves no native tensors behind; without the statistics it passes (they are skipped, not failed)', () => {
  const before = settledTensorCount();
  const r = runParity(DIR, { stats: false });
  assert.equal(memory().numTensors, before);
  assert.deepEqual(r.rows.filter((x) => !x.ok).map((x) => x.name), []);
  assert.ok(r.ok);
  assert.ok(r.skipped.some((k) => k.startsWith('stats.')));
});

// ------------------------------------------------------------------------------------ state dict
function fileOrder(model: FLMModel | SingleStreamModel): string[] {
  // the fixture writer stores 8-byte dtypes first, keeping state_dict() order within each group
  const size = (t: Tensor) => (t.dtype === 'int64' ? 8 : 4);
  return [...model.stateDict()].sort((a, b) => size(b[1]) - size(a[1])).map(([k]) => k);
}

test('FLM state dict: every official key (aliases included) in the official order', () => {
  const m = createModel(flmCfg()) as FLMModel;
  const w = load('weights-flm.safetensors');
  try {
    assert.equal(m.stateDict().size, 359);
    assert.deepEqual(fileOrder(m), [...w.keys()]);
    // 193 distinct tensors: aliases are the same objects
    assert.equal(new Set(m.stateDict().values()).size, 193);
    assert.equal(m.text_transformer2, m.text_transformer);
    assert.equal(m.fusion_token_embedding, m.text_transformer.embeddings);
    assert.equal(m.lm_score_f, m.lm_score);
  } finally {
    m.dispose();
    disposeAll(w);
  }
});

test('single-stream state dict: every official key in the official order', () => {
  const m = createModel(singleCfg());
  const w = load('weights-single.safetensors');
  try {
    assert.ok(m instanceof SingleStreamModel);
    assert.deepEqual(fileOrder(m), [...w.keys()]);
  } finally {
    m.dispose();
    disposeAll(w);
  }
});

test('loadOfficialWeights: strict load, alias check, missing/unexpected report', () => {
  const m = createModel(flmCfg());
  const w = load('weights-flm.safetensors');
  try {
    const r = loadOfficialWeights(m, w);
    assert.deepEqual([r.missing, r.unexpected, r.aliasConflicts, r.adapted], [[], [], [], []]);
    noGrad(() => assert.ok(m.stateDict().get('lm_score_r.bias')!.equal(w.get('lm_score.bias')!)));

    // a differing alias is an error in strict mode, a report entry otherwise
    const bad = new Map(w);
    const tampered = noGrad(() => w.get('text_transformer2.pooler.dense.bias')!.add(1));
    bad.set('text_transformer2.pooler.dense.bias', tampered);
    assert.throws(() => loadOfficialWeights(m, bad), (e: unknown) => e instanceof StateDictError && /text_transformer2\.pooler\.dense\.bias/.test(e.message));
    assert.deepEqual(loadOfficialWeights(m, bad, { strict: false }).aliasConflicts, ['text_transformer2.pooler.dense.bias']);
    tampered.dispose();

    const partial = new Map(w);
    partial.delete('lm_type_embeddings.weight');
    partial.set('extra.weight', w.get('lm_score.bias')!);
    assert.throws(() => loadOfficialWeights(m, partial), /missing keys: lm_type_embeddings\.weight.*unexpected keys: extra\.weight/s);
    const rep = loadOfficialWeights(m, partial, { strict: false });
    assert.deepEqual([rep.missing, rep.unexpected], [['lm_type_embeddings.weight'], ['extra.weight']]);
  } finally {
    m.dispose();
    disposeAll(w);
  }
});

// ------------------------------------------------------------------------------------ behaviour
function flmBatch(cases: Map<string, Tensor>, bi: string) {
  const g = (k: string) => cases.get(k)!;
  return {
    image: g('input.image'), textIds: g('input.text_ids'), textMasks: g('input.text_masks'), fusionIds: g('input.text_all_masks_ids'),
    masks: { fwd: g('flm.mask.ext_fwd'), rev: g('flm.mask.ext_rev'), bi: g(`input.bi_mask.${bi}`) },
  };
}

test('FLM: only the reconstructor depends on the bi mask; streams share weights', () => {
  const m = createModel(flmCfg()) as FLMModel;
  const w = load('weights-flm.safetensors');
  const cases = load('cases.safetensors');
  try {
    loadOfficialWeights(m, w);
    m.eval();
    noGrad(() => tidy(() => {
      const a = m.forward(flmBatch(cases, 'corr'));
      const b = m.forward(flmBatch(cases, 'rate0'));
      assert.ok(a.top.fwd.equal(b.top.fwd) && a.top.rev.equal(b.top.rev) && a.imageEmbeds.equal(b.imageEmbeds));
      assert.ok(a.bottom.rec.sub(b.bottom.rec).abs().max().item() > 1e-3);
      assert.ok(a.embeds.text.allclose(cases.get('flm.embed.text')!, 0, 1e-5));
      assert.deepEqual(a.logits!.rec.shape, [3, 12, 64]);
      assert.deepEqual(a.clsFeats.shape, [3, 32]);
    }));
  } finally {
    m.dispose();
    disposeAll(w);
    disposeAll(cases);
  }
});

test('single-stream: sensible cls_feats [B, H] by default, official [B, 2H] with compat; same ITM logits', () => {
  const sensible = createModel(singleCfg()) as SingleStreamModel;
  const official = createModel(singleCfg(), { compat: true }) as SingleStreamModel;
  const w = load('weights-single.safetensors');
  const cases = load('cases.safetensors');
  try {
    loadOfficialWeights(sensible, w);
    loadOfficialWeights(official, w);
    sensible.eval();
    official.eval();
    noGrad(() => tidy(() => {
      const input = { image: cases.get('input.itm_image')!, textIds: cases.get('input.text_ids')!, textMask: cases.get('single.mask.bidir')! };
      const a = sensible.forward(input);
      const b = official.forward(input);
      assert.deepEqual(a.clsFeats.shape, [3, 32]);
      assert.deepEqual(b.clsFeats.shape, [3, 64]);
      assert.ok(sensible.itm(a.clsFeats).equal(official.itm(b.clsFeats)));
      assert.ok(official.itm(b.clsFeats).allclose(cases.get('single.itm.logits')!, 1e-4, 1e-5));
    }));
  } finally {
    sensible.dispose();
    official.dispose();
    disposeAll(w);
    disposeAll(cases);
  }
});

test('forward and backward inside tidy free every temporary tensor', () => {
  const m = createModel(flmCfg()) as FLMModel;
  const cases = load('cases.safetensors');
  try {
    const before = settledTensorCount();
    tidy(() => {
      const out = m.forward(flmBatch(cases, 'corr'));
      out.logits!.rec.sum().backward();
    });
    m.zeroGrad();
    assert.equal(memory().numTensors, before);
  } finally {
    m.dispose();
    disposeAll(cases);
  }
});

test('dropout: active in train mode only', () => {
  const m = createModel(withOverrides(flmCfg(), { drop_rate: 0.3 })) as FLMModel;
  const cases = load('cases.safetensors');
  try {
    noGrad(() => tidy(() => {
      m.train();
      const a = m.forward(flmBatch(cases, 'corr')).top.rec;
      const b = m.forward(flmBatch(cases, 'corr')).top.rec;
      assert.ok(!a.equal(b));
      // the ViT has no dropout
      assert.ok(m.vit_model.forward(cases.get('input.image')!).equal(m.vit_model.forward(cases.get('input.image')!)));
      m.eval();
      assert.ok(m.forward(flmBatch(cases, 'corr')).top.rec.equal(m.forward(flmBatch(cases, 'corr')).top.rec));
    }));
  } finally {
    m.dispose();
    disposeAll(cases);
  }
});

test('official initialisation: N(0, 0.02) new layers, PyTorch default reconstructor, zero pad rows', () => {
  // seeded: the sample statistics below hold within their tolerances for this draw (unseeded, the state
  // left by whatever ran before decides, and a 512-value std misses ±0.1 about once in a thousand draws)
  manualSeed(0);
  const m = createModel(flmConfig('small')) as FLMModel;
  try {
    noGrad(() => tidy(() => {
      const sd = m.stateDict();
      const std = (k: string) => sd.get(k)!.std().item();
      assert.ok(Math.abs(std('cross_modal_text_layers.0.attention.self.query.weight') - 0.02) < 2e-3);
      assert.ok(Math.abs(std('lm_score.decoder.weight') - 0.02) < 2e-3);
      assert.equal(sd.get('cross_modal_text_layers.0.attention.self.query.bias')!.abs().max().item(), 0);
      assert.equal(sd.get('lm_score.bias')!.abs().max().item(), 0);
      // reconstructor: kaiming-uniform U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases too
      const bound = 1 / Math.sqrt(256);
      const rq = sd.get('fusion_layers_top.0.crossattention.self.query.weight')!;
      assert.ok(rq.abs().max().item() <= bound && Math.abs(rq.std().item() - bound / Math.sqrt(3)) < 2e-3);
      assert.ok(sd.get('fusion_layers_top.0.crossattention.self.query.bias')!.abs().max().item() > 0);
      assert.equal(sd.get('fusion_layers_top.0.output.LayerNorm.weight')!.sub(1).abs().max().item(), 0);
      assert.ok(Math.abs(std('lm_type_embeddings.weight') - 1) < 0.1);
      const word = sd.get('text_transformer.embeddings.word_embeddings.weight')!;
      assert.equal(word.select(0, 1).abs().max().item(), 0);
      assert.equal(sd.get('vit_model.visual.transformer.resblocks.0.attn.in_proj_bias')!.abs().max().item(), 0);
    }));
  } finally {
    m.dispose();
  }
});

test('downstream heads: VQA / NLVR2 classifiers, rank_output sharing itm_score row 1, NLVR2 token types', () => {
  const c = withOverrides(flmCfg(), { loss_names: { itm: 1, vqa: 1, nlvr2: 1, irtr: 1 }, vqa_label_size: 7 });
  const m = createModel(c) as FLMModel;
  const w = load('weights-flm.safetensors');
  try {
    const r = loadOfficialWeights(m, w, { strict: false });
    assert.ok(r.missing.every((k) => /^(itm_score|itm_score_flm|vqa_classifier|nlvr2_classifier|rank_output)\./.test(k)), r.missing.join(', '));
    assert.deepEqual(r.adapted, ['token_type_embeddings.weight: extended to 3 rows for NLVR2 (row 2 := row 1)']);
    tidy(() => {
      const tt = m.token_type_embeddings.weight;
      assert.ok(tt.select(0, 2).equal(tt.select(0, 1)) && tt.select(0, 1).equal(w.get('token_type_embeddings.weight')!.select(0, 1)));
      assert.deepEqual(m.vqa_classifier!.forward(randn([2, 32])).shape, [2, 7]);
      assert.deepEqual(m.nlvr2_classifier!.forward(randn([2, 64])).shape, [2, 2]);
      // rank_output is row 1 of the (frozen) ITM head, same storage (spec B.8)
      const rank = m.rank_output!;
      assert.ok(rank.weight.sharesStorage(m.itm_score!.fc.weight) && rank.weight.requiresGrad && !m.itm_score!.fc.weight.requiresGrad);
      noGrad(() => rank.weight.add_(1));
      assert.ok(m.itm_score!.fc.weight.select(0, 1).equal(rank.weight.select(0, 0)));
    });
  } finally {
    m.dispose();
    disposeAll(w);
  }
});

// ------------------------------------------------------------------------------------ positional embedding
test('bicubic positional-embedding resize: same size is the identity, 2x2 -> 3x3 matches torch', () => {
  tidy(() => {
    const pe = F.cat([tensor([[-1.1, -0.73], [-0.36, 0.01]]), tensor([[0.1444, 0.5625], [1.12, 1.49], [1.86, 2.23]])], 0); // [5, 2]
    assert.ok(resizePositionalEmbedding(pe, 2).equal(pe));
    const expected = tensor([
      [-1.1, -0.73], [-0.5304818749427795, -0.16501954197883606], [-0.2464979887008667, 0.1496397703886032],
      [0.03748571127653122, 0.46429896354675293], [0.32598960399627686, 0.6939021348953247], [0.691100001335144, 1.0731250047683716],
      [1.0562103986740112, 1.452348232269287], [1.182460904121399, 1.5528236627578735], [1.6286976337432861, 1.9966102838516235],
      [2.074934959411621, 2.4403975009918213],
    ]);
    const out = resizePositionalEmbedding(pe, 3);
    assert.deepEqual(out.shape, [10, 2]);
    assert.ok(out.allclose(expected, 0, 2e-6), out.toString());
    assert.throws(() => resizePositionalEmbedding(tensor([[0, 0], [1, 1], [2, 2]]), 2), /square grid/);
  });
});

test('loadOfficialWeights resizes the ViT positional table for another image size', () => {
  const big = createModel(withOverrides(flmCfg(), { image_size: 40, vit_arch: { image_size: 40 } })) as FLMModel;
  const w = load('weights-flm.safetensors');
  try {
    const r = loadOfficialWeights(big, w);
    assert.equal(r.adapted.length, 1);
    assert.match(r.adapted[0]!, /\[17,32\] -> \[26,32\]/);
    noGrad(() => tidy(() => {
      const pe = big.vit_model.visual.positional_embedding;
      assert.ok(pe.equal(resizePositionalEmbedding(w.get('vit_model.visual.positional_embedding')!, 5)));
      assert.deepEqual(big.vit_model.forward(randn([2, 3, 40, 40])).shape, [2, 26, 32]);
    }));
  } finally {
    big.dispose();
    disposeAll(w);
  }
});

// ------------------------------------------------------------------------------------ configs
test('config: the tiny preset is the fixture model, for both model variants', () => {
  assert.deepEqual(flmConfig('tiny'), flmCfg());
  assert.deepEqual(singleConfig('tiny'), singleCfg());
});

test('config: small and base presets', () => {
  const s = flmConfig('small');
  assert.equal(PRESETS.small.batch, 32);
  assert.deepEqual(
    [s.max_text_len, s.vocab_size, s.hidden_size, s.num_heads, s.num_bottom_layer, s.num_top_layer, s.num_reconstructor_bottom_layer, s.num_reconstructor_top_layer],
    [24, 1024, 256, 4, 2, 2, 2, 2],
  );
  assert.deepEqual([s.image_size, s.patch_size, s.vit_arch.width, s.vit_arch.num_resblocks, s.span_corruption_rate], [64, 8, 256, 4, 0.5]);
  assert.equal(s.text_encoder_arch.max_position_embeddings, 26);
  const b = flmConfig('base');
  assert.deepEqual([b.hidden_size, b.num_heads, b.num_bottom_layer, b.num_top_layer, b.num_reconstructor_bottom_layer, b.num_reconstructor_top_layer, b.vocab_size],
    [768, 12, 6, 6, 6, 6, 50265]);
  assert.deepEqual([b.image_size, b.patch_size, b.vit_arch.num_resblocks, b.vit_arch.width, b.text_encoder_arch.max_position_embeddings, b.drop_rate],
    [288, 32, 11, 768, 514, 0.1]);
  const m = createModel('small') as FLMModel;
  try {
    noGrad(() => tidy(() => {
      assert.deepEqual(m.vit_model.forward(randn([2, 3, 64, 64])).shape, [2, 65, 256]);
    }));
  } finally {
    m.dispose();
  }
});

test('config: validation names every bad key', () => {
  const raw = () => JSON.parse(JSON.stringify(fixture.models.flm.config)) as Record<string, unknown>;
  const bad = (mutate: (c: Record<string, unknown>) => void, pattern: RegExp) => {
    const c = raw();
    mutate(c);
    assert.throws(() => validateConfig(c), (e: unknown) => e instanceof ConfigError && pattern.test(e.message), `expected ${pattern}`);
  };
  bad((c) => { c.hiden_size = 32; }, /hiden_size: unknown key/);
  bad((c) => { delete c.num_heads; }, /num_heads: missing/);
  bad((c) => { c.hidden_size = 0; }, /hidden_size: must be a positive integer/);
  bad((c) => { c.num_heads = 3; }, /hidden_size \/ num_heads: 32 is not divisible by 3/);
  bad((c) => { c.num_reconstructor_top_layer = 3; }, /num_reconstructor_top_layer \(3\) > num_top_layer \(2\)/);
  bad((c) => { c.drop_rate = 1; }, /drop_rate: must be a number in \[0, 1\)/);
  bad((c) => { c.is_causal_mask = 'yes'; }, /is_causal_mask: must be a boolean/);
  bad((c) => { (c.vit_arch as Record<string, unknown>).heads = 5; }, /vit_arch.width \/ heads/);
  bad((c) => { (c.text_encoder_arch as Record<string, unknown>).extra = 1; }, /text_encoder_arch.extra: unknown key/);
  bad((c) => { (c.loss_names as Record<string, unknown>).itc = 1; }, /loss_names.itc: unknown loss/);
  bad((c) => { c.max_text_len = 13; }, /max_position_embeddings >= 15/);
  bad((c) => { c.image_size = 40; }, /image_size \(40\) must equal vit_arch.image_size \(32\)/);
  bad((c) => { (c.vit_arch as Record<string, unknown>).conv_stem = [8, 0]; }, /vit_arch.conv_stem: must be a list of positive integers/);
  bad((c) => { (c.vit_arch as Record<string, unknown>).conv_stem = 16; }, /vit_arch.conv_stem: must be a list of positive integers/);
  bad((c) => { (c.vit_arch as Record<string, unknown>).conv_stem = [4, 4, 4, 4]; }, /4 stride-2 convolutions, so patch_size \(8\) must be divisible by 16/);
  // several problems are reported together
  const c = raw();
  c.hidden_size = -1;
  c.foo = 1;
  assert.throws(() => validateConfig(c), (e: unknown) => e instanceof ConfigError && e.problems.length === 2);
  // configs are plain data: validation copies
  const v = validateConfig(fixture.models.flm.config);
  v.vit_arch.width = 1;
  assert.equal(validateConfig(fixture.models.flm.config).vit_arch.width, 32);
  assert.throws(() => createModel(withOverrides(flmCfg(), { flm_backbone: false })), /loss_names.flm > 0 needs flm_backbone/);
});

test('the image tower\'s convolutional stem (vit_arch.conv_stem): shapes, names, and the same tokens as the convolutions by hand', () => {
  const base = flmCfg();
  const c = validateConfig({ ...base, vit_arch: { ...base.vit_arch, conv_stem: [4, 6] } });
  const m = new FLMModel(c);
  try {
    const names = [...m.namedParameters()].map(([n, p]) => `${n} ${p.shape.join('x')}`).filter((n) => /visual\.conv/.test(n));
    assert.deepEqual(names, [
      'vit_model.visual.conv_stem.0.weight 4x3x3x3', 'vit_model.visual.conv_stem.0.bias 4',
      'vit_model.visual.conv_stem.1.weight 6x4x3x3', 'vit_model.visual.conv_stem.1.bias 6',
      'vit_model.visual.conv1.weight 32x6x3x3',
    ]);
    noGrad(() => tidy(() => {
      const image = randn([2, 3, 32, 32]);
      const v = m.vit_model.visual;
      const p = (n: string) => [...m.namedParameters()].find(([k]) => k === `vit_model.visual.${n}`)![1];
      let x = F.conv2d(image, p('conv_stem.0.weight'), p('conv_stem.0.bias'), { stride: 2, padding: 1 }).gelu(); // [2, 4, 16, 16]
      x = F.conv2d(x, p('conv_stem.1.weight'), p('conv_stem.1.bias'), { stride: 2, padding: 1 }).gelu(); // [2, 6, 8, 8]
      const patches = F.conv2d(x, p('conv1.weight'), null, { stride: 2, padding: 1 }).reshape(2, 32, 16).permute(0, 2, 1); // [2, 16, 32]
      const cls = p('class_embedding').view(1, 1, 32).expand(2, 1, 32);
      let t = v.ln_pre.forward(F.cat([cls, patches], 1).add(p('positional_embedding')));
      for (const blk of v.transformer.resblocks.items) t = blk.forward(t);
      const expected = v.ln_post.forward(t);
      const got = m.vit_model.forward(image);
      assert.deepEqual(got.shape, [2, 17, 32]);
      assert.ok(got.sub(expected).abs().max().item() < 1e-6);
    }));
  } finally {
    m.dispose();
  }
  // a config without the key (every checkpoint written before it) is CLIP's plain patch embedding
  assert.equal(validateConfig(fixture.models.flm.config).vit_arch.conv_stem, undefined);
  assert.equal(flmConfig('mini').vit_arch.conv_stem?.length, 2);
});
