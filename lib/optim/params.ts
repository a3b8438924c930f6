/**
 * Parameter lists and groups shared by the optimizers: validation of what an optimizer may update
 * (f32 leaf tensors that require grad), per-group settings, and the checks a gradient must pass
 * before a step reads it.
 */
import { argError, describe } from '../errors';
import { Tensor } from '../tensor';

/**
 * Parameters that share settings, e.g. `{ params: biasesAndNorms, weightDecay: 0 }` so that only
 * matrices decay.
 */
export interface ParamGroup {
  params: Tensor[];
  /** Overrides the optimizer's weight decay for this group. */
  weightDecay?: number;
  /** Multiplies the optimizer's learning rate for this group (default 1). */
  lrScale?: number;
  /** Names of the parameters (for checkpoints); default: their index over all groups. */
  names?: string[];
}

/** One parameter with its group's settings resolved. */
export interface ResolvedParam {
  param: Tensor;
  name: string;
  weightDecay: number;
  lrScale: number;
}

/** A finite number in [min, max) (or [min, max] when maxInclusive). */
export function rangeArg(op: string, name: string, v: unknown, min: number, max = Infinity, maxInclusive = false): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= min && (maxInclusive ? v <= max : v < max);
  if (!ok) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}${maxInclusive ? ']' : ')'}`;
    throw argError(op, name, `a finite number ${range}`, describe(v));
  }
  return v as number;
}

/** Throws unless p can be an optimizer's parameter: a live f32 leaf tensor that requires grad. */
export function checkParam(op: string, name: string, p: unknown): Tensor {
  if (!(p instanceof Tensor)) throw argError(op, name, 'a Tensor', describe(p));
  if (p.disposed) throw argError(op, name, 'a live tensor', `a disposed tensor (${p.dtype}[${p.shape}])`);
  if (p.dtype !== 'f32') throw argError(op, name, 'an f32 tensor (master weights)', p.describe());
  if (!p.requiresGrad) throw argError(op, name, 'a tensor that requires grad', `${p.describe()} with requiresGrad false`);
  if (p.gradFn) throw argError(op, name, 'a leaf tensor', `the output of op '${p.gradFn.op}'`);
  return p;
}

/**
 * Resolves `params` (a list of tensors, or of groups) into one entry per parameter. `defaults`
 * supplies what a group does not set. A parameter listed twice is an error.
 */
export function resolveParams(op: string, params: unknown, defaults: { weightDecay: number }): ResolvedParam[] {
  if (!Array.isArray(params)) throw argError(op, 'params', 'an array of tensors or of parameter groups', describe(params));
  const isGroups = params.length > 0 && !(params[0] instanceof Tensor);
  const groups: ParamGroup[] = isGroups ? (params as ParamGroup[]) : [{ params: params as Tensor[] }];
  const out: ResolvedParam[] = [];
  const seen = new Set<Tensor>();
  const names = new Set<string>();
  groups.forEach((group, gi) => {
    const where = isGroups ? `params[${gi}]` : 'params';
    if (group === null || typeof group !== 'object' || group instanceof Tensor || !Array.isArray(group.params))
      throw argError(op, `params[${gi}]`, 'a parameter group { params: Tensor[], ... }', describe(group));
    const weightDecay =
      group.weightDecay === undefined ? defaults.weightDecay : rangeArg(op, `${where}.weightDecay`, group.weightDecay, 0);
    const lrScale = group.lrScale === undefined ? 1 : rangeArg(op, `${where}.lrScale`, group.lrScale, 0);
    if (group.names !== undefined && (!Array.isArray(group.names) || group.names.length !== group.params.length))
      throw argError(op, `${where}.names`, `an array of ${group.params.length} names`, describe(group.names));
    group.params.forEach((p, i) => {
      const argName = isGroups ? `${where}.params[${i}]` : `params[${i}]`;
      const t = checkParam(op, argName, p);
      if (seen.has(t)) throw argError(op, argName, 'each parameter once', 'a parameter listed twice');
      seen.add(t);
      const name = group.names ? String(group.names[i]) : String(out.length);
      if (names.has(name)) throw argError(op, `${where}.names`, 'unique names', `"${name}" twice`);
      names.add(name);
      out.push({ param: t, name, weightDecay, lrScale });
    });
  });
  return out;
}

/**
 * The gradient of a parameter for a step (null when it has none): checked to be live, f32 or bf16,
 * shaped and placed like the parameter.
 */
export function gradOf(op: string, entry: ResolvedParam): Tensor | null {
  const p = entry.param;
  if (p.disposed) throw argError(op, `parameter "${entry.name}"`, 'a live tensor', 'a disposed tensor');
  const g = p.grad;
  if (!g) return null;
  const name = `gradient of "${entry.name}"`;
  if (g.disposed) throw argError(op, name, 'a live tensor', 'a disposed tensor');
  if (g.dtype !== 'f32' && g.dtype !== 'bf16') throw argError(op, name, 'dtype f32 or bf16', g.dtype);
  if (g.device !== p.device) throw argError(op, name, `a tensor on ${p.device}`, `one on ${g.device}`);
  if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i]))
    throw argError(op, name, `shape [${p.shape.join(', ')}]`, `[${g.shape.join(', ')}]`);
  return g;
}

/** Throws unless s is a live f32 one-element tensor on `device` (a gradient scale such as clipGradNorm's coef). */
export function checkGradScale(op: string, s: unknown, device: string): Tensor {
  if (!(s instanceof Tensor)) throw argError(op, 'gradScale', 'a Tensor', describe(s));
  if (s.disposed) throw argError(op, 'gradScale', 'a live tensor', 'a disposed tensor');
  if (s.dtype !== 'f32' || s.numel !== 1 || s.device !== device)
    throw argError(op, 'gradScale', `an f32 one-element tensor on ${device}`, s.describe());
  return s;
}
