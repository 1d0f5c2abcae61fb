// Shared optimiser plumbing: parameter groups with their own learning rate and weight decay.
import { Tensor } from '../tensor/index.js';

export interface ParamGroupInput {
  params: Tensor[];
  /** names parallel to params (used for state save/load); defaults to "g<group>.<index>" */
  names?: string[];
  /** base learning rate of this group (defaults to the optimiser's lr times lrMult) */
  lr?: number;
  lrMult?: number;
  weightDecay?: number;
}

export interface ParamGroup {
  params: Tensor[];
  names: string[];
  /** learning rate before the schedule factor */
  baseLr: number;
  /** learning rate used by the next step (baseLr * schedule factor) */
  lr: number;
  weightDecay: number;
}

export function buildGroups(input: Tensor[] | ParamGroupInput[], lr: number, weightDecay: number): ParamGroup[] {
  if (!Array.isArray(input) || input.length === 0) throw new Error('optimizer: no parameters given');
  const raw: ParamGroupInput[] = input[0] instanceof Tensor ? [{ params: input as Tensor[] }] : (input as ParamGroupInput[]);
  const seen = new Set<Tensor>();
  return raw.map((g, gi) => {
    if (!Array.isArray(g.params)) throw new Error(`optimizer: group ${gi} has no params array`);
    for (const p of g.params) {
      if (!(p instanceof Tensor)) throw new Error(`optimizer: group ${gi} holds a non-tensor parameter`);
      if (seen.has(p)) throw new Error(`optimizer: a parameter appears in more than one group (group ${gi})`);
      if (!p.isFloatingPoint) throw new Error(`optimizer: group ${gi} holds a ${p.dtype} tensor; parameters must be floating point`);
      seen.add(p);
    }
    const names = g.names ?? g.params.map((_, i) => `g${gi}.${i}`);
    if (names.length !== g.params.length) throw new Error(`optimizer: group ${gi} has ${names.length} names for ${g.params.length} params`);
    const baseLr = g.lr ?? lr * (g.lrMult ?? 1);
    const wd = g.weightDecay ?? weightDecay;
    if (!(baseLr >= 0) || !Number.isFinite(baseLr)) throw new Error(`optimizer: group ${gi} learning rate must be a finite number >= 0, got ${baseLr}`);
    if (!(wd >= 0) || !Number.isFinite(wd)) throw new Error(`optimizer: group ${gi} weight decay must be a finite number >= 0, got ${wd}`);
    return { params: g.params, names, baseLr, lr: baseLr, weightDecay: wd };
  });
}

/** Serialisable optimiser state: tensors by name plus JSON-able scalars. */
export interface OptimizerState {
  tensors: Map<string, Tensor>;
  meta: Record<string, unknown>;
}
