/**
 * Loading a state dict into a model's parameters, shared by every model: the names must be exactly
 * the model's and every shape must match, checked for all tensors before anything is copied, so a
 * wrong file never leaves a model half loaded.
 */
import { noGrad } from '../autograd';
import { argError, describe, GlmError } from '../errors';
import { native } from '../native';
import { Tensor } from '../tensor';

/**
 * Copies every tensor of `stateDict` (f32 or bf16, any device) into the parameter of the same name
 * in `params`. A missing, unexpected or wrongly shaped tensor is an error of `op` naming it (and the
 * model, described by `model`), raised before anything is copied.
 */
export function loadParameters(op: string, params: ReadonlyMap<string, Tensor>, stateDict: Record<string, Tensor>, model: string): void {
  if (stateDict === null || typeof stateDict !== 'object' || Array.isArray(stateDict) || stateDict instanceof Tensor)
    throw argError(op, 'stateDict', 'an object of tensors by name', describe(stateDict));
  const missing = [...params.keys()].filter((n) => !Object.prototype.hasOwnProperty.call(stateDict, n));
  const extra = Object.keys(stateDict).filter((n) => !params.has(n));
  if (missing.length || extra.length) {
    const list = (names: string[]) => names.slice(0, 6).map((n) => `"${n}"`).join(', ') + (names.length > 6 ? `, ... (${names.length} in all)` : '');
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.length} tensor${missing.length > 1 ? 's' : ''}: ${list(missing)}`);
    if (extra.length) parts.push(`unexpected ${extra.length} tensor${extra.length > 1 ? 's' : ''}: ${list(extra)}`);
    throw new GlmError(op, `argument 'stateDict' does not match the model (${model}): ${parts.join('; ')}`, { argument: 'stateDict' });
  }
  for (const [name, p] of params) {
    const t = stateDict[name];
    const expected = `an f32 or bf16 tensor of shape [${p.shape.join(', ')}]`;
    if (!(t instanceof Tensor) || t.disposed) throw argError(op, `stateDict["${name}"]`, expected, describe(t));
    if ((t.dtype !== 'f32' && t.dtype !== 'bf16') || t.shape.join() !== p.shape.join())
      throw argError(op, `stateDict["${name}"]`, expected, t.describe());
  }
  noGrad(() => {
    for (const [name, p] of params) {
      const src = stateDict[name];
      if (src === p) continue;
      const here = src.to(p.device);
      native().copy(p.handle, here.handle);  // converts bf16 to f32
      if (here !== src) here.dispose();
    }
  });
}
