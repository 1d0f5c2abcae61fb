// Poolers and task heads (TencentARC/FLM flm/modules/heads.py, flm_module.py; spec B.8).
// New heads are initialised like objectives.init_weights: N(0, 0.02) weights, zero biases, LayerNorm 1/0.
import { F, Tensor, zeros, noGrad } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { BERT_INIT, LayerNorm, Linear, type Init } from '../nn/layers.js';

/** Pooler (= HF BertPooler): tanh(dense(x[:, 0])). */
export class Pooler extends Module {
  readonly dense: Linear;
  constructor(hidden: number, init: Init = BERT_INIT) {
    super();
    this.dense = this.child('dense', new Linear(hidden, hidden, { init }));
  }
  forward(x: Tensor): Tensor {
    return this.dense.forward(x.select(1, 0)).tanh(); // [B, H]
  }
}

/** HF BertPredictionHeadTransform: LayerNorm(GELU(dense(x))). */
export class HeadTransform extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  constructor(hidden: number, eps: number, init: Init = BERT_INIT) {
    super();
    this.dense = this.child('dense', new Linear(hidden, hidden, { init }));
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(hidden, eps));
  }
  forward(x: Tensor): Tensor {
    return this.LayerNorm.forward(F.gelu(this.dense.forward(x))); // [B, L, H]
  }
}

/**
 * MLMHead (used for MLM, AR and FLM scoring): decoder(transform(x)) + bias. The decoder has no bias of
 * its own and is not tied to the word embeddings; `bias` starts at zero.
 */
export class MLMHead extends Module {
  readonly bias: Tensor;
  readonly transform: HeadTransform;
  readonly decoder: Linear;
  constructor(hidden: number, vocab: number, eps: number, init: Init = BERT_INIT) {
    super();
    this.bias = this.param('bias', zeros([vocab]));
    this.transform = this.child('transform', new HeadTransform(hidden, eps, init));
    this.decoder = this.child('decoder', new Linear(hidden, vocab, { bias: false, init }));
  }
  forward(x: Tensor): Tensor {
    return this.decoder.forward(this.transform.forward(x)).add(this.bias); // [B, L, V]
  }
}

/** ITMHead: fc = Linear(hidden, 2) (logit 1 = "match"). */
export class ITMHead extends Module {
  readonly fc: Linear;
  constructor(hidden: number, init: Init = BERT_INIT) {
    super();
    this.fc = this.child('fc', new Linear(hidden, 2, { init }));
  }
  forward(x: Tensor): Tensor {
    return this.fc.forward(x); // [B, 2]
  }
}

/**
 * nn.Sequential(Linear(dIn, dHidden), LayerNorm(dHidden), GELU(), Linear(dHidden, dOut)), keys 0, 1, 3
 * (the GELU at index 2 has no parameters). LayerNorm eps is nn.LayerNorm's default 1e-5.
 */
export class ClassifierMLP extends Module {
  readonly l0: Linear;
  readonly ln1: LayerNorm;
  readonly l3: Linear;
  constructor(dIn: number, dHidden: number, dOut: number, init: Init = BERT_INIT) {
    super();
    this.l0 = this.child('0', new Linear(dIn, dHidden, { init }));
    this.ln1 = this.child('1', new LayerNorm(dHidden, 1e-5));
    this.l3 = this.child('3', new Linear(dHidden, dOut, { init }));
  }
  forward(x: Tensor): Tensor {
    return this.l3.forward(F.gelu(this.ln1.forward(this.l0.forward(x)))); // [B, dOut]
  }
}

/** VQA: Linear(H, 2H) -> LayerNorm -> GELU -> Linear(2H, answers) on cls_feats [B, H]. */
export function vqaClassifier(hidden: number, answers: number): ClassifierMLP {
  return new ClassifierMLP(hidden, 2 * hidden, answers);
}

/** NLVR2: Linear(2H, 2H) -> LayerNorm -> GELU -> Linear(2H, 2) on cat(cls_feats(img0), cls_feats(img1)). */
export function nlvr2Classifier(hidden: number): ClassifierMLP {
  return new ClassifierMLP(2 * hidden, 2 * hidden, 2);
}

/**
 * IRTR `rank_output` = Linear(H, 1) whose weight and bias are row 1 ("match") of `itm_score.fc`.
 * The official code assigns `.data` to a slice view, so the two share storage: updating rank_output
 * also changes the (frozen) ITM head's row 1 (spec B.8). Reproduced with leaf views of the same memory.
 */
export class RankOutput extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(itm: ITMHead) {
    super();
    const [w, b] = noGrad(() => [itm.fc.weight.detach().slice(0, 1, 2), itm.fc.bias!.detach().slice(0, 1, 2)]);
    this.weight = this.param('weight', w!); // [1, H], shares storage with itm_score.fc.weight[1:]
    this.bias = this.param('bias', b!); // [1]
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias); // [B, 1]
  }
}
