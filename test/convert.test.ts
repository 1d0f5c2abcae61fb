// `flm convert` (convert/convert.ts, hf.ts, official-config.ts, init-weights.ts; io/weights-file.ts):
// small Hugging Face CLIP-vision and RoBERTa / BERT files written here with the real names, the tiny
// fixture's official weights as the "official checkpoint" (safetensors, and a torch.save .pt through
// the guarded pickle import), the converted layout, and errors that name the file and key.
import { settledTensorCount } from './tensor-helpers.js';
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { F, Tensor, keep, manualSeed, memory, randn, tidy } from '../src/tensor/index.js';
import { loadSafetensors, saveSafetensors } from '../src/io/safetensors.js';
import { saveTorchFile } from '../src/io/torch-pickle.js';
import { readTorchZip } from '../src/io/torch-pickle-check.js';
import { cat, dictPickle, f32, op, tensorPickle, torchZip, zipStored } from './torch-pickle-fixtures.js';
import { ConvertError, convertHfClipVision, convertHfText, convertOfficial } from '../src/convert/convert.js';
import { resolveOfficialConfig } from '../src/convert/official-config.js';
import { loadInitWeights } from '../src/convert/init-weights.js';
import { FLMModel, SingleStreamModel, createModel, flmConfig, resizePositionalEmbedding, singleConfig, validateConfig, withOverrides, type FLMConfig } from '../src/models/index.js';
import { registerConvert } from '../src/cli/convert.js';
import { exitCodeOf } from '../src/cli/exit-code.js';

const FIX = join(process.cwd(), 'fixtures', 'flm-tiny');
const OFFICIAL = join(FIX, 'weights-flm.safetensors');
const dir = mkdtempSync(join(tmpdir(), 'flm-convert-'));
const p = (name: string): string => join(dir, name);

type Sd = Map<string, Tensor>;
const r = (...shape: number[]): Tensor => keep(randn(shape));
const free = (m: Sd): void => m.forEach((t) => t.dispose());
const same = (a: Tensor | undefined, b: Tensor | undefined): boolean => !!a && !!b && a.shape.join() === b.shape.join() && tidy(() => a.to('float32').equal(b.to('float32')));

/** HF CLIPVisionModel names (CLIPModel adds text_model.* and the projections). */
function hfClip(o: { layers: number; width?: number; grid?: number; prefix?: string; clipModel?: boolean }): Sd {
  const W = o.width ?? 32;
  const g = o.grid ?? 3;
  const P = o.prefix ?? 'vision_model.';
  const m: Sd = new Map();
  m.set(`${P}embeddings.class_embedding`, r(W));
  m.set(`${P}embeddings.patch_embedding.weight`, r(W, 3, 8, 8));
  m.set(`${P}embeddings.position_embedding.weight`, r(g * g + 1, W));
  for (const s of ['weight', 'bias']) m.set(`${P}pre_layrnorm.${s}`, r(W));
  for (let i = 0; i < o.layers; i++) {
    const L = `${P}encoder.layers.${i}.`;
    for (const x of ['k', 'v', 'q', 'out']) {
      m.set(`${L}self_attn.${x}_proj.weight`, r(W, W));
      m.set(`${L}self_attn.${x}_proj.bias`, r(W));
    }
    for (const s of ['weight', 'bias']) {
      m.set(`${L}layer_norm1.${s}`, r(W));
      m.set(`${L}layer_norm2.${s}`, r(W));
    }
    m.set(`${L}mlp.fc1.weight`, r(4 * W, W));
    m.set(`${L}mlp.fc1.bias`, r(4 * W));
    m.set(`${L}mlp.fc2.weight`, r(W, 4 * W));
    m.set(`${L}mlp.fc2.bias`, r(W));
  }
  for (const s of ['weight', 'bias']) m.set(`${P}post_layernorm.${s}`, r(W));
  if (o.clipModel) {
    m.set('text_model.embeddings.position_embedding.weight', r(8, 32)); // = tiny clip_context_length x clip_text_width
    m.set('text_model.embeddings.token_embedding.weight', r(50, 32));
    for (const s of ['weight', 'bias']) m.set(`text_model.final_layer_norm.${s}`, r(32));
    m.set('visual_projection.weight', r(16, W));
    m.set('logit_scale', r());
  }
  return m;
}

/** HF RobertaForMaskedLM names (BertModel with family 'bert'), tiny sizes. */
function hfText(o: { layers: number; family?: 'roberta' | 'bert'; bare?: boolean; hidden?: number }): Sd {
  const H = o.hidden ?? 32;
  const fam = o.family ?? 'roberta';
  const P = o.bare ? '' : `${fam}.`;
  const m: Sd = new Map();
  m.set(`${P}embeddings.word_embeddings.weight`, r(64, H));
  m.set(`${P}embeddings.position_embeddings.weight`, r(14, H));
  m.set(`${P}embeddings.token_type_embeddings.weight`, r(fam === 'bert' ? 2 : 1, H));
  for (const s of ['weight', 'bias']) m.set(`${P}embeddings.LayerNorm.${s}`, r(H));
  for (let i = 0; i < o.layers; i++) {
    const L = `${P}encoder.layer.${i}.`;
    for (const x of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      m.set(`${L}${x}.weight`, r(H, H));
      m.set(`${L}${x}.bias`, r(H));
    }
    m.set(`${L}intermediate.dense.weight`, r(4 * H, H));
    m.set(`${L}intermediate.dense.bias`, r(4 * H));
    m.set(`${L}output.dense.weight`, r(H, 4 * H));
    m.set(`${L}output.dense.bias`, r(H));
    for (const s of ['weight', 'bias']) {
      m.set(`${L}attention.output.LayerNorm.${s}`, r(H));
      m.set(`${L}output.LayerNorm.${s}`, r(H));
    }
  }
  m.set(`${P}pooler.dense.weight`, r(H, H));
  m.set(`${P}pooler.dense.bias`, r(H));
  if (fam === 'roberta') {
    m.set('lm_head.dense.weight', r(H, H));
    m.set('lm_head.bias', r(64));
  }
  return m;
}

function write(name: string, m: Sd, metadata: Record<string, string> = {}): string {
  tidy(() => saveSafetensors(p(name), m, metadata)); // tidy: its CPU copies are freed now, not by the GC
  return p(name);
}

/** Runs `flm convert ...` in-process on a program with only the convert command. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const prog = new Command('flm').exitOverride();
  registerConvert(prog);
  const log = console.log;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    await prog.parseAsync(['node', 'flm', 'convert', ...args]);
    return { code: exitCodeOf(prog), out: out.join('\n'), err: '' };
  } catch (e) {
    return { code: 1, out: out.join('\n'), err: e instanceof Error ? e.message : String(e) };
  } finally {
    console.log = log;
  }
}

const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

let clip: Sd;
let text: Sd;
after(() => rmSync(dir, { recursive: true, force: true }));
before(() => {
  manualSeed(7);
  clip = hfClip({ layers: 3, clipModel: true });
  text = hfText({ layers: 3 });
  write('clip.safetensors', clip);
  write('roberta.safetensors', text);
});

describe('Hugging Face CLIP vision -> vit_model.visual.*', () => {
  it('packs q, k, v into in_proj, renames the rest, drops the extra block and resizes the positions', () => {
    const arch = flmConfig('tiny').vit_arch; // width 32, patch 8, image 32 (grid 4), 2 blocks
    const m = convertHfClipVision(p('clip.safetensors'), arch);
    try {
      const V = 'vit_model.visual.';
      const L0 = 'vision_model.encoder.layers.0.self_attn.';
      const cat = tidy(() => F.cat([clip.get(`${L0}q_proj.weight`)!, clip.get(`${L0}k_proj.weight`)!, clip.get(`${L0}v_proj.weight`)!], 0));
      assert.ok(same(m.tensors.get(`${V}transformer.resblocks.0.attn.in_proj_weight`), cat), 'in_proj_weight = cat(q, k, v)');
      cat.dispose();
      const b1 = 'vision_model.encoder.layers.1.self_attn.';
      const catB = tidy(() => F.cat([clip.get(`${b1}q_proj.bias`)!, clip.get(`${b1}k_proj.bias`)!, clip.get(`${b1}v_proj.bias`)!], 0));
      assert.ok(same(m.tensors.get(`${V}transformer.resblocks.1.attn.in_proj_bias`), catB), 'in_proj_bias = cat(q, k, v)');
      catB.dispose();
      const pairs: [string, string][] = [
        ['transformer.resblocks.1.attn.out_proj.weight', 'encoder.layers.1.self_attn.out_proj.weight'],
        ['transformer.resblocks.0.ln_1.bias', 'encoder.layers.0.layer_norm1.bias'],
        ['transformer.resblocks.0.ln_2.weight', 'encoder.layers.0.layer_norm2.weight'],
        ['transformer.resblocks.1.mlp.c_fc.weight', 'encoder.layers.1.mlp.fc1.weight'],
        ['transformer.resblocks.1.mlp.c_proj.bias', 'encoder.layers.1.mlp.fc2.bias'],
        ['conv1.weight', 'embeddings.patch_embedding.weight'],
        ['class_embedding', 'embeddings.class_embedding'],
        ['ln_pre.weight', 'pre_layrnorm.weight'],
        ['ln_post.bias', 'post_layernorm.bias'],
      ];
      for (const [ours, hf] of pairs) assert.ok(same(m.tensors.get(V + ours), clip.get(`vision_model.${hf}`)), `${ours} <- ${hf}`);
      assert.ok(![...m.tensors.keys()].some((k) => k.includes('resblocks.2.')), 'block 2 of 3 is dropped (the model runs 2)');
      assert.ok(m.dropped.some((d) => d.includes('vit_arch.num_resblocks = 2') && d.includes('encoder.layers.2.')), m.dropped.join('\n'));
      // 3x3 grid (CLIP at 24 px) -> 4x4 grid (image 32): bicubic, class row unchanged
      const pe = m.tensors.get(`${V}positional_embedding`)!;
      assert.deepEqual(pe.shape, [17, 32]);
      const want = tidy(() => resizePositionalEmbedding(clip.get('vision_model.embeddings.position_embedding.weight')!, 4));
      assert.ok(same(pe, want));
      want.dispose();
      assert.ok(m.resized.some((x) => x.includes('[10,32] -> [17,32]')), m.resized.join('\n'));
      // CLIPModel's text side feeds the unused vit_model.positional_embedding / ln_final; the rest is dropped
      assert.ok(same(m.tensors.get('vit_model.positional_embedding'), clip.get('text_model.embeddings.position_embedding.weight')));
      assert.ok(same(m.tensors.get('vit_model.ln_final.weight'), clip.get('text_model.final_layer_norm.weight')));
      assert.ok(m.dropped.some((d) => d.startsWith('CLIP text tower') && d.includes('token_embedding')));
      assert.ok(m.dropped.some((d) => d.includes('visual_projection.weight')));
    } finally {
      free(m.tensors);
    }
  });

  it('accepts bare and clip.-prefixed names and the OpenAI visual.* layout', () => {
    const arch = flmConfig('tiny').vit_arch;
    const bare = hfClip({ layers: 2, grid: 4, prefix: '' });
    const prefixed = new Map([...bare].map(([k, t]) => [`clip.vision_model.${k}`, t]));
    for (const [name, m] of [['bare', bare], ['prefixed', prefixed]] as const) {
      const out = convertHfClipVision(write(`clip-${name}.safetensors`, m), arch);
      assert.equal(out.tensors.size, 7 + 2 * 12, name);
      assert.equal(out.resized.length, 0, 'same grid: no resize');
      free(out.tensors);
    }
    // OpenAI / open_clip names map one to one under vit_model.
    const oa = new Map<string, Tensor>([['visual.conv1.weight', r(32, 3, 8, 8)], ['visual.class_embedding', r(32)], ['visual.positional_embedding', r(17, 32)], ['visual.proj', r(32, 16)]]);
    for (const s of ['weight', 'bias']) for (const n of ['ln_pre', 'ln_post']) oa.set(`visual.${n}.${s}`, r(32));
    for (let i = 0; i < 2; i++) {
      const L = `visual.transformer.resblocks.${i}.`;
      oa.set(`${L}attn.in_proj_weight`, r(96, 32));
      oa.set(`${L}attn.in_proj_bias`, r(96));
      for (const [n, o, q] of [['attn.out_proj', 32, 32], ['mlp.c_fc', 128, 32], ['mlp.c_proj', 32, 128]] as const) {
        oa.set(`${L}${n}.weight`, r(o, q));
        oa.set(`${L}${n}.bias`, r(o));
      }
      for (const s of ['weight', 'bias']) for (const n of ['ln_1', 'ln_2']) oa.set(`${L}${n}.${s}`, r(32));
    }
    const out = convertHfClipVision(write('clip-openai.safetensors', oa), arch);
    assert.throws(() => convertHfClipVision(p('clip-openai.safetensors'), { ...arch, conv_stem: [8] }),
      (e: unknown) => e instanceof ConvertError && /convolutional stem \(vit_arch.conv_stem\), which CLIP has not/.test(e.message));
    assert.ok(same(out.tensors.get('vit_model.visual.transformer.resblocks.1.attn.in_proj_weight'), oa.get('visual.transformer.resblocks.1.attn.in_proj_weight')));
    assert.ok(out.dropped.some((d) => d.includes('visual.proj')));
    free(out.tensors);
    free(bare);
    free(oa);
  });
});

describe('Hugging Face RoBERTa / BERT -> text_transformer.*', () => {
  it('keeps the first num_bottom_layer layers and drops the rest and the MLM head', () => {
    const c = flmConfig('tiny');
    const m = convertHfText(p('roberta.safetensors'), c.text_encoder_arch, c.num_bottom_layer);
    try {
      assert.ok(same(m.tensors.get('text_transformer.embeddings.word_embeddings.weight'), text.get('roberta.embeddings.word_embeddings.weight')));
      assert.ok(same(m.tensors.get('text_transformer.encoder.layer.1.attention.self.value.bias'), text.get('roberta.encoder.layer.1.attention.self.value.bias')));
      assert.ok(same(m.tensors.get('text_transformer.pooler.dense.weight'), text.get('roberta.pooler.dense.weight')));
      assert.ok(![...m.tensors.keys()].some((k) => k.includes('layer.2.')));
      assert.equal(m.tensors.size, 5 + 2 * 16 + 2);
      assert.ok(m.dropped.some((d) => d.includes('num_bottom_layer = 2') && d.includes('roberta.encoder.layer.2.')), m.dropped.join('\n'));
      assert.ok(m.dropped.some((d) => d.includes('lm_head.bias')));
      assert.ok(m.notes.some((n) => n.includes('RoBERTa positions')));
    } finally {
      free(m.tensors);
    }
  });

  it('BERT loads by name: row 0 of its two token types, and a note on its arange positions', () => {
    const c = flmConfig('tiny');
    const bert = hfText({ layers: 2, family: 'bert' });
    // TF-era names
    bert.set('bert.embeddings.LayerNorm.gamma', bert.get('bert.embeddings.LayerNorm.weight')!);
    bert.delete('bert.embeddings.LayerNorm.weight'); // (the same tensor lives on as .gamma)
    const m = convertHfText(write('bert.safetensors', bert), c.text_encoder_arch, 2);
    try {
      const tt = m.tensors.get('text_transformer.embeddings.token_type_embeddings.weight')!;
      assert.deepEqual(tt.shape, [1, 32]);
      const row0 = bert.get('bert.embeddings.token_type_embeddings.weight')!.slice(0, 0, 1);
      assert.ok(same(tt, row0));
      row0.dispose();
      assert.ok(same(m.tensors.get('text_transformer.embeddings.LayerNorm.weight'), bert.get('bert.embeddings.LayerNorm.gamma')));
      assert.ok(m.resized.some((x) => x.includes('first 1 of 2 rows')));
      assert.ok(m.notes.some((n) => n.includes('arange positions') && n.includes('not a faithful BERT')), m.notes.join('\n'));
    } finally {
      free(m.tensors);
      free(bert);
    }
  });
});

describe('flm convert --clip --text: a fresh FLM model with the encoders', () => {
  it('writes model.safetensors / config.json / convert-report.json with the weights in place', async () => {
    const out = p('out-hf');
    const res = await cli('--clip', p('clip.safetensors'), '--text', p('roberta.safetensors'), '--preset', 'tiny', '--out', out, '--seed', '3');
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /FLMModel \(pretrain\)/);
    for (const f of ['model.safetensors', 'config.json', 'convert-report.json', 'state.json']) assert.ok(existsSync(join(out, f)), f);
    const config = validateConfig(readJson(join(out, 'config.json')));
    assert.deepEqual(config, flmConfig('tiny'));
    const w = loadSafetensors(join(out, 'model.safetensors'));
    try {
      const model = createModel(config);
      assert.deepEqual([...w.tensors.keys()].sort(), [...model.stateDict().keys()].sort(), 'every official name, aliases included');
      model.loadStateDict(w.tensors, { strict: true });
      model.dispose();
      const g = (k: string): Tensor => w.tensors.get(k)!;
      const L0 = 'vision_model.encoder.layers.0.self_attn.';
      const cat = tidy(() => F.cat([clip.get(`${L0}q_proj.weight`)!, clip.get(`${L0}k_proj.weight`)!, clip.get(`${L0}v_proj.weight`)!], 0));
      assert.ok(same(g('vit_model.visual.transformer.resblocks.0.attn.in_proj_weight'), cat));
      cat.dispose();
      assert.deepEqual(g('vit_model.visual.positional_embedding').shape, [17, 32]);
      assert.ok(same(g('text_transformer.encoder.layer.0.output.dense.weight'), text.get('roberta.encoder.layer.0.output.dense.weight')));
      assert.ok(same(g('text_transformer2.encoder.layer.0.output.dense.weight'), text.get('roberta.encoder.layer.0.output.dense.weight')), 'alias');
      assert.ok(same(g('fusion_token_embedding.word_embeddings.weight'), text.get('roberta.embeddings.word_embeddings.weight')), 'alias');
      // fresh N(0, 0.02) elsewhere
      const std = tidy(() => g('cross_modal_text_layers.0.attention.self.query.weight').std().item());
      assert.ok(std > 0.01 && std < 0.03, `cross-modal init std ${std}`);
      const rep = readJson(join(out, 'convert-report.json'));
      assert.equal(rep.kind, 'hf');
      assert.ok((rep.resized as string[]).some((x) => x.includes('positional_embedding')));
      assert.ok((rep.dropped as string[]).some((x) => x.includes('encoder.layers.2.')));
      const missing = rep.missing as string[];
      assert.ok(missing.includes('cross_modal_text_layers.0.attention.self.query.weight') && missing.includes('fusion_layers_top.0.output.dense.bias'));
      assert.ok(!missing.some((n) => /^(cross_modal_layers|cross_modal_text_layers_r|text_transformer2|lm_score_r)\./.test(n)), 'aliases not repeated');
      assert.ok(!missing.some((n) => n.startsWith('vit_model.visual.') || n.startsWith('text_transformer.')), 'the encoders are loaded');
      assert.ok((rep.notes as string[]).some((x) => x.includes('fresh init: N(0, 0.02)')));
      assert.equal(readJson(join(out, 'state.json')).task, 'pretrain');
    } finally {
      free(w.tensors);
    }
  });

  it('--single builds the single-stream model; --seed makes it reproducible', async () => {
    const a = await cli('--clip', p('clip.safetensors'), '--text', p('roberta.safetensors'), '--preset', 'tiny', '--single', '--out', p('out-single'), '--json');
    assert.equal(a.code, 0, a.err);
    assert.equal((JSON.parse(a.out) as { model: string }).model, 'SingleStreamModel');
    const w = loadSafetensors(join(p('out-single'), 'model.safetensors')).tensors;
    const model = createModel(singleConfig('tiny'));
    assert.ok(model instanceof SingleStreamModel);
    assert.deepEqual([...w.keys()].sort(), [...model.stateDict().keys()].sort());
    model.dispose();
    const b = await cli('--clip', p('clip.safetensors'), '--text', p('roberta.safetensors'), '--preset', 'tiny', '--single', '--out', p('out-single2'));
    assert.equal(b.code, 0, b.err);
    const w2 = loadSafetensors(join(p('out-single2'), 'model.safetensors')).tensors;
    assert.ok([...w].every(([k, t]) => same(t, w2.get(k))), 'same seed (default 0), same weights');
    free(w);
    free(w2);
  });

  it('refuses sizes that do not fit the preset, naming the file and the fitting preset', async () => {
    const wideSd = hfClip({ layers: 2, width: 256 });
    const wide = write('clip-wide.safetensors', wideSd);
    free(wideSd);
    const a = await cli('--clip', wide, '--preset', 'tiny', '--out', p('out-bad'));
    assert.equal(a.code, 1);
    assert.match(a.err, /clip-wide\.safetensors: a CLIP tower of width 256.*preset tiny has width 32.*--preset small/);
    const short = hfText({ layers: 1 });
    const b = await cli('--text', write('roberta-1.safetensors', short), '--preset', 'tiny', '--out', p('out-bad'));
    assert.match(b.err, /roberta-1\.safetensors: 1 roberta layers, but the model needs 2/);
    const hole = hfText({ layers: 2 });
    hole.get('roberta.encoder.layer.1.output.dense.bias')!.dispose();
    hole.delete('roberta.encoder.layer.1.output.dense.bias');
    const c = await cli('--text', write('roberta-hole.safetensors', hole), '--preset', 'tiny', '--out', p('out-bad'));
    assert.match(c.err, /roberta-hole\.safetensors: missing tensor 'roberta\.encoder\.layer\.1\.output\.dense\.bias'/);
    const d = await cli('--clip', p('roberta.safetensors'), '--preset', 'tiny', '--out', p('out-bad'));
    assert.match(d.err, /roberta\.safetensors: no CLIP vision weights/);
    const e = await cli('--text', p('clip.safetensors'), '--preset', 'tiny', '--out', p('out-bad'));
    assert.match(e.err, /clip\.safetensors: no RoBERTa \/ BERT weights/);
    assert.ok(!existsSync(join(p('out-bad'), 'model.safetensors')), 'nothing written on errors');
    free(short);
    free(hole);
  });
});

describe('flm convert --official', () => {
  it('the tiny fixture converts to exactly the fixture weights (names, order, values)', async () => {
    const before0 = settledTensorCount();
    const rep = convertOfficial(OFFICIAL, { out: p('out-official'), preset: 'tiny' });
    assert.equal(memory().numTensors, before0, 'conversion frees its tensors');
    assert.equal(rep.model, 'FLMModel');
    assert.equal(rep.loaded, 193, '193 distinct tensors (fixture README)');
    assert.equal(rep.written, 359);
    assert.deepEqual([rep.missing, rep.unexpected, rep.resized], [[], [], []]);
    const fx = loadSafetensors(OFFICIAL).tensors;
    const ours = loadSafetensors(join(p('out-official'), 'model.safetensors'));
    try {
      assert.deepEqual([...ours.tensors.keys()], [...fx.keys()], 'same names in the same order');
      for (const [k, t] of fx) assert.ok(ours.tensors.get(k)!.equal(t), k);
      assert.deepEqual(validateConfig(JSON.parse(ours.metadata.flm_config!)), flmConfig('tiny'));
    } finally {
      free(fx);
      free(ours.tensors);
    }
    // the output carries its config: converting it again needs no preset
    const again = await cli('--official', join(p('out-official'), 'model.safetensors'), '--out', p('out-official2'), '--json');
    assert.equal(again.code, 0, again.err);
    assert.match((JSON.parse(again.out) as { config: { source: string } }).config.source, /metadata \(flm_config\)/);
    // same tensors (the file sizes may differ by header padding: the metadata names the source path)
    const first = loadSafetensors(join(p('out-official'), 'model.safetensors')).tensors;
    const second = loadSafetensors(join(p('out-official2'), 'model.safetensors')).tensors;
    try {
      assert.deepEqual([...second.keys()], [...first.keys()]);
      for (const [k, t] of first) assert.ok(second.get(k)!.equal(t), k);
    } finally {
      free(first);
      free(second);
    }
  });

  it('the single-stream fixture converts too (model and heads read from the names)', () => {
    const rep = convertOfficial(join(FIX, 'weights-single.safetensors'), { out: p('out-single-official'), preset: 'tiny' });
    assert.equal(rep.model, 'SingleStreamModel');
    assert.equal(rep.missing.length + rep.unexpected.length, 0);
    assert.deepEqual(readJson(join(p('out-single-official'), 'config.json')), JSON.parse(JSON.stringify(singleConfig('tiny'))));
  });

  it('the heads present set loss_names: an FLM backbone with lm_score alone has an AR head', () => {
    const fx = loadSafetensors(OFFICIAL).tensors;
    const ar = new Map([...fx].filter(([k]) => !k.startsWith('lm_score_r.') && !k.startsWith('lm_score_f.')));
    const rep = convertOfficial(write('ar-head.safetensors', ar), { out: p('out-ar'), preset: 'tiny' });
    assert.deepEqual([rep.model, rep.missing, rep.unexpected], ['FLMModel', [], []]);
    assert.ok(rep.config.notes.includes('loss_names.flm: 0 (no head in the file)') && rep.config.notes.includes('loss_names.ar: 1 (head present in the file)'), rep.config.notes.join('\n'));
    free(fx);
  });

  it('a torch.save .pt (Lightning-style state_dict.*) converts with --allow-pickle and is refused without', async () => {
    const fx = loadSafetensors(OFFICIAL).tensors;
    const nested = new Map([...fx].map(([k, t]) => [`state_dict.${k}`, t]));
    nested.set('optimizer_states.0.exp_avg', r(3));
    saveTorchFile(p('flm.pt'), nested);
    const refused = await cli('--official', p('flm.pt'), '--preset', 'tiny', '--out', p('out-pt'));
    assert.equal(refused.code, 1);
    assert.match(refused.err, /flm\.pt is a torch\.save \(pickle\) file: refusing to unpickle it without --allow-pickle/);
    assert.ok(!existsSync(join(p('out-pt'), 'model.safetensors')));
    const ok = await cli('--official', p('flm.pt'), '--preset', 'tiny', '--allow-pickle', '--out', p('out-pt'), '--json');
    assert.equal(ok.code, 0, ok.err);
    const rep = JSON.parse(ok.out) as { loaded: number; notes: string[] };
    assert.equal(rep.loaded, 193);
    assert.ok(rep.notes.some((n) => n.includes("'state_dict.'")) && rep.notes.some((n) => n.includes('optimizer_states.0.exp_avg')), rep.notes.join('\n'));
    const ours = loadSafetensors(join(p('out-pt'), 'model.safetensors')).tensors;
    for (const [k, t] of fx) assert.ok(ours.get(k)!.equal(t), k);
    free(ours);
    free(fx);
    nested.get('optimizer_states.0.exp_avg')!.dispose();
  });

  // Crafted .ckpt files (the bug report): before the pickle checks, a storage claiming more than its
  // record holds converted with exit 0 (values read from process memory) and a 1 GB claim or a 3-byte
  // pickle crashed the process. Run as `flm convert` in child processes, so a crash fails the test.
  it('crafted torch.save files with --allow-pickle are errors naming the file, never memory or a crash', () => {
    const fx = loadSafetensors(OFFICIAL).tensors;
    saveTorchFile(p('whole.pt'), new Map([...fx].map(([k, t]) => [`state_dict.${k}`, t])));
    free(fx);
    const whole = readFileSync(p('whole.pt'));
    const entries = [...readTorchZip(whole).records.values()].map((r): [string, Uint8Array] => [r.name, whole.subarray(r.dataStart, r.dataStart + r.compressedSize)]);
    // vit_model.visual.conv1.weight, the one 6,144-float tensor: its record cut to 16 bytes
    const victim = entries.filter(([n, b]) => n.includes('/data/') && b.length === 6144 * 4);
    assert.equal(victim.length, 1);
    const cut = (bytes: Uint8Array): Buffer => zipStored(entries.map(([n, b]): [string, Uint8Array] => [n, n === victim[0]![0] ? bytes : b]));
    const w = (numel: number): Buffer => torchZip(dictPickle([['state_dict.w', tensorPickle({ key: '0', numel, size: [numel], stride: [1] })]]), { '0': f32(1, 2, 3, 4) });
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['overclaim.ckpt', cut(victim[0]![1].subarray(0, 16)), /storage '\d+' claims 6144 FloatStorage elements \(24576 bytes\) but its record data\/\d+ holds 16 bytes/],
      ['gigabyte.ckpt', w(268435456), /claims 268435456 FloatStorage elements \(1073741824 bytes\) but its record data\/0 holds 16 bytes/],
      ['reduce.ckpt', torchZip(Uint8Array.of(0x80, 2, 0x52, 0x2e)), /malformed pickle: REDUCE at byte 2: the stack is empty/],
      ['raw-reduce.ckpt', Uint8Array.of(0x80, 2, 0x52, 0x2e), /legacy \(pre-1\.6, non-zip\) torch\.save file/],
      ['system.ckpt', torchZip(cat(op.proto, op.global('os', 'system'), op.str('touch /tmp/flm-pwned'), op.tuple1, op.reduce, op.stop)), /refusing global 'os\.system'/],
    ];
    const bin = join(process.cwd(), 'bin', 'flm.js');
    for (const [name, bytes, expect] of cases) {
      writeFileSync(p(name), bytes);
      const out = p(`out-${name}`);
      const r = spawnSync(process.execPath, [bin, 'convert', '--official', p(name), '--preset', 'tiny', '--allow-pickle', '--out', out], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.signal, null, `${name}: killed by ${r.signal}\n${r.stderr}`);
      assert.equal(r.status, 1, `${name}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
      assert.ok(r.stderr.includes(p(name)), `${name}: the error names the file:\n${r.stderr}`);
      assert.match(r.stderr, expect, name);
      assert.ok(!existsSync(join(out, 'model.safetensors')), `${name}: nothing written`);
    }
  });

  // A Lightning checkpoint as Python writes it (OrderedDict state_dict, one-entry dicts) is beyond
  // libtorch's unpickler; the error says how to re-save it, and the re-saved file converts. Needs the
  // reference Python with torch (skipped without it).
  it('a real Lightning .ckpt: refused with the re-save recipe; the re-saved state dict converts', (t) => {
    const py = '/usr/bin/python3';
    if (!existsSync(py)) return void t.skip('no /usr/bin/python3');
    const script = `
import torch, json, struct, collections, sys
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
sd = collections.OrderedDict()
for k, v in h.items():
    if k == '__metadata__': continue
    s, e = v['data_offsets']
    sd[k] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype={'F32': torch.float32, 'I64': torch.int64}[v['dtype']]).reshape(v['shape']).clone()
sd._metadata = collections.OrderedDict({'': {'version': 1}})
torch.save({'epoch': 3, 'state_dict': sd, 'hyper_parameters': {'config': {'vit': 'ViT-B/32'}}}, sys.argv[2])
c = torch.load(sys.argv[2], map_location='cpu')
torch.save(dict(c['state_dict']), sys.argv[3])
`;
    const res = spawnSync(py, ['-c', script, OFFICIAL, p('lightning.ckpt'), p('resaved.pt')], { encoding: 'utf8', timeout: 60_000 });
    if (res.status !== 0 && /No module named 'torch'/.test(res.stderr)) return void t.skip('no torch in /usr/bin/python3');
    assert.equal(res.status, 0, res.stderr);
    assert.throws(() => convertOfficial(p('lightning.ckpt'), { out: p('out-ckpt'), preset: 'tiny', allowPickle: true }), /lightning\.ckpt.*torch\.save\(dict\(c\['state_dict'\]\), 'flm\.pt'\)/);
    const rep = convertOfficial(p('resaved.pt'), { out: p('out-ckpt'), preset: 'tiny', allowPickle: true });
    assert.equal(rep.loaded, 193);
    const fx = loadSafetensors(OFFICIAL).tensors;
    const ours = loadSafetensors(join(p('out-ckpt'), 'model.safetensors')).tensors;
    for (const [k, t] of fx) assert.ok(ours.get(k)!.equal(t), k);
    free(fx);
    free(ours);
  });

  it('adapts to a bigger model config: bicubic positions and N(0, 0.02) vocabulary rows (B.11)', () => {
    const big = withOverrides(flmConfig('tiny'), { image_size: 48, vit_arch: { image_size: 48 }, vocab_size: 70, text_encoder_arch: { vocab_size: 70 } });
    writeFileSync(p('big.json'), JSON.stringify(big));
    manualSeed(1);
    const rep = convertOfficial(OFFICIAL, { out: p('out-big'), configJson: p('big.json') });
    assert.ok(rep.resized.some((x) => x.includes('positional_embedding') && x.includes('[17,32] -> [37,32]')), rep.resized.join('\n'));
    assert.ok(rep.resized.some((x) => x.includes('word_embeddings.weight: vocabulary 64 -> 70')));
    assert.ok(rep.resized.some((x) => x.startsWith('lm_score.bias')));
    const w = loadSafetensors(join(p('out-big'), 'model.safetensors')).tensors;
    const fx = loadSafetensors(OFFICIAL).tensors;
    tidy(() => {
      const word = w.get('text_transformer.embeddings.word_embeddings.weight')!;
      assert.deepEqual(word.shape, [70, 32]);
      assert.ok(word.slice(0, 0, 64).equal(fx.get('text_transformer.embeddings.word_embeddings.weight')!), 'old rows kept');
      const fresh = word.slice(0, 64);
      assert.ok(fresh.abs().max().item() > 0 && fresh.std().item() < 0.05, 'new rows ~ N(0, 0.02)');
      assert.ok(word.equal(w.get('fusion_token_embedding.word_embeddings.weight')!), 'aliases get the same new rows');
      assert.ok(w.get('lm_score.decoder.weight')!.equal(w.get('lm_score_f.decoder.weight')!));
      assert.deepEqual(w.get('vit_model.visual.positional_embedding')!.shape, [37, 32]);
    });
    free(w);
    free(fx);
  });

  it('reads the config from hyper_parameters metadata when there is one', () => {
    const fx = loadSafetensors(OFFICIAL).tensors;
    const { vit_arch: _v, text_encoder_arch: _t, ...official } = JSON.parse(JSON.stringify(flmConfig('tiny'))) as Record<string, unknown>;
    const full = write('hp-full.safetensors', fx, { hyper_parameters: JSON.stringify({ config: flmConfig('tiny') }) });
    assert.equal(convertOfficial(full, { out: p('out-hp') }).loaded, 193);
    const partial = write('hp-official.safetensors', fx, { hyper_parameters: JSON.stringify({ config: official }) });
    assert.throws(() => convertOfficial(partial, { out: p('out-hp') }), /hp-official\.safetensors: metadata hyper_parameters has no architecture.*--preset/);
    const rep = convertOfficial(partial, { out: p('out-hp'), preset: 'tiny' });
    assert.match(rep.config.source, /preset tiny \+ .*hyper_parameters/);
    free(fx);
  });

  it('bad inputs give errors naming the file and the key', async () => {
    const miss = await cli('--official', p('nope.safetensors'), '--preset', 'tiny', '--out', p('out-x'));
    assert.match(miss.err, /nope\.safetensors: no such file/);
    const junk = write('junk.safetensors', new Map([['foo.weight', r(2, 2)]]));
    assert.throws(() => convertOfficial(junk, { out: p('out-x'), preset: 'tiny' }), /junk\.safetensors: no official FLM names.*foo\.weight.*--clip \/ --text/);
    writeFileSync(p('garbage.safetensors'), 'not a weights file at all');
    assert.throws(() => convertOfficial(p('garbage.safetensors'), { out: p('out-x'), preset: 'tiny' }), (e: unknown) => e instanceof ConvertError && e.message.includes('garbage.safetensors'));
    const noPreset = await cli('--official', OFFICIAL, '--out', p('out-x'));
    assert.match(noPreset.err, /carries no model config.*--preset tiny\|small\|base \(preset tiny matches\)/);
    const wrongPreset = await cli('--official', OFFICIAL, '--preset', 'small', '--out', p('out-x'));
    assert.match(wrongPreset.err, /text_transformer\.embeddings\.word_embeddings\.weight has text width 32, but preset small has 256 \(preset tiny matches\)/);

    const fx = loadSafetensors(OFFICIAL).tensors;
    const badShape = new Map(fx);
    badShape.set('lm_score.transform.dense.weight', r(32, 31));
    const a = await cli('--official', write('bad-shape.safetensors', badShape), '--preset', 'tiny', '--out', p('out-x'));
    assert.match(a.err, /bad-shape\.safetensors: tensors whose shape does not fit.*lm_score\.transform\.dense\.weight: file \[32,31\] vs model \[32,32\]/);
    const badAlias = new Map(fx);
    badAlias.set('text_transformer2.embeddings.LayerNorm.weight', r(32));
    const b = await cli('--official', write('bad-alias.safetensors', badAlias), '--preset', 'tiny', '--out', p('out-x'));
    assert.match(b.err, /bad-alias\.safetensors: aliased names differ.*text_transformer2\.embeddings\.LayerNorm\.weight/);
    const partial = new Map([...fx].filter(([k]) => !k.startsWith('lm_score') && !k.startsWith('cross_modal_image_pooler.')));
    partial.set('extra.weight', r(2));
    const c = await cli('--official', write('partial.safetensors', partial), '--preset', 'tiny', '--strict', '--out', p('out-x'));
    assert.match(c.err, /strict conversion: missing cross_modal_image_pooler\.dense\.weight, cross_modal_image_pooler\.dense\.bias; unexpected extra\.weight/);
    const d = await cli('--official', p('partial.safetensors'), '--preset', 'tiny', '--out', p('out-partial'), '--json');
    assert.equal(d.code, 0, d.err);
    const rep = JSON.parse(d.out) as { unexpected: string[]; missing: string[]; config: { notes: string[] } };
    assert.deepEqual(rep.unexpected, ['extra.weight']);
    assert.deepEqual(rep.missing, ['cross_modal_image_pooler.dense.weight', 'cross_modal_image_pooler.dense.bias']);
    assert.ok(rep.config.notes.some((n) => n.includes('loss_names.flm: 0')), 'no lm_score: no FLM head in the model');
    assert.ok(!existsSync(join(p('out-x'), 'model.safetensors')), 'nothing written on errors');
    const flags = await cli('--official', OFFICIAL, '--clip', p('clip.safetensors'), '--out', p('out-x'));
    assert.match(flags.err, /either --official FILE or --clip/);
    for (const t of [badShape.get('lm_score.transform.dense.weight')!, badAlias.get('text_transformer2.embeddings.LayerNorm.weight')!, partial.get('extra.weight')!]) t.dispose();
    free(fx);
  });
});

describe('--init weights for pretraining (loadInitWeights)', () => {
  it('loads a converted folder by name, adapting vocabulary, and reports the rest', () => {
    manualSeed(2);
    const model = createModel(withOverrides(flmConfig('tiny'), { vocab_size: 66, text_encoder_arch: { vocab_size: 66 } })) as FLMModel;
    const rep = loadInitWeights(model, p('out-official'));
    assert.equal(rep.loaded, 193);
    assert.deepEqual([rep.missing, rep.unexpected, rep.shapeMismatch], [[], [], []]);
    assert.ok(rep.adapted.some((a) => a.includes('vocabulary 64 -> 66')));
    const fx = loadSafetensors(OFFICIAL).tensors;
    assert.ok(tidy(() => model.vit_model.visual.conv1.weight.equal(fx.get('vit_model.visual.conv1.weight')!)));
    model.dispose();
    // a single-stream model takes the shared parts by name
    const single = createModel(singleConfig('tiny'));
    const r2 = loadInitWeights(single, join(p('out-official'), 'model.safetensors'));
    assert.ok(r2.unexpected.some((n) => n.startsWith('fusion_layers_top.')));
    assert.ok(r2.missing.some((n) => n.startsWith('mlm_score.')));
    assert.ok(tidy(() => single.text_transformer.embeddings.word_embeddings.weight.equal(fx.get('text_transformer.embeddings.word_embeddings.weight')!)));
    single.dispose();
    free(fx);
    const m3 = createModel('tiny');
    assert.throws(() => loadInitWeights(m3, p('nothing-here')), /nothing-here: no such file/);
    m3.dispose();
  });
});

test('official-config: the conv stem is read from the tensors (present: its channels; absent: none)', () => {
  const load = (config: FLMConfig) => {
    const m = new FLMModel(config);
    const tensors = new Map<string, Tensor>(m.namedParameters()); // read for their shapes only; the model owns them
    return { m, file: { path: 'x.safetensors', format: 'safetensors' as const, tensors, metadata: {}, strippedPrefix: '', ignored: [] } };
  };
  const mini = flmConfig('mini');
  const withStem = load({ ...mini, vit_arch: { ...mini.vit_arch, conv_stem: [16, 32] } });
  const { conv_stem: _, ...plainArch } = mini.vit_arch;
  const plain = load({ ...mini, vit_arch: plainArch });
  try {
    const a = resolveOfficialConfig(withStem.file, { preset: 'mini' });
    assert.deepEqual(a.config.vit_arch.conv_stem, [16, 32]);
    assert.ok(a.notes.some((n) => n.startsWith('vit_arch.conv_stem: [16, 32]')));
    const b = resolveOfficialConfig(plain.file, { preset: 'mini' });
    assert.equal(b.config.vit_arch.conv_stem, undefined);
    assert.equal(b.config.vit_arch.patch_size, 8);
  } finally {
    withStem.m.dispose();
    plain.m.dispose();
  }
});
