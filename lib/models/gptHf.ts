/**
 * Hugging Face GPT-2 checkpoints ↔ our GPT state dicts. The names are the same (HF's GPT2Model keys,
 * optionally under "transformer."); the difference is the layout of the four projection matrices:
 * HF's Conv1D stores them [in, out], our Linear [out, in] (the faster GEMM path on CPU, see
 * lib/nn/linear.ts), so they are transposed on the way in and out. HF's non-parameter buffers
 * (attn.bias / attn.masked_bias causal masks) and lm_head.weight (tied to wte) are dropped on load.
 */
import { noGrad } from '../autograd';
import { argError, describe } from '../errors';
import { transpose } from '../ops/layout';
import { Tensor } from '../tensor';

/** Our weights that HF GPT-2 stores transposed (Conv1D [in, out]). */
const CONV1D = /^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;

/** HF tensors that are not parameters of ours: causal-mask buffers, and the head tied to wte. */
const HF_ONLY = /^(h\.\d+\.attn\.(bias|masked_bias)|lm_head\.weight)$/;

/** Whether our parameter `name` is stored transposed in HF GPT-2 checkpoints. */
export function isHfConv1dWeight(name: string): boolean {
  return CONV1D.test(name);
}

function checkDict(op: string, sd: unknown): Record<string, Tensor> {
  if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) throw argError(op, 'stateDict', 'an object of tensors by name', describe(sd));
  for (const [k, t] of Object.entries(sd))
    if (!(t instanceof Tensor) || t.disposed) throw argError(op, `stateDict["${k}"]`, 'a live Tensor', describe(t));
  return sd as Record<string, Tensor>;
}

/**
 * Our state dict in HF GPT-2's layout and names (GPT2Model keys, no prefix): new tensors, the
 * Conv1D weights transposed to [in, out], everything else copied; the caller (or its scope) disposes them (e.g.
 * after writing model.safetensors).
 */
export function gptToHfStateDict(stateDict: Record<string, Tensor>): Record<string, Tensor> {
  const sd = checkDict('gptToHfStateDict', stateDict);
  return noGrad(() => {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(sd)) out[name] = (isHfConv1dWeight(name) ? transpose(t, 0, 1) : t.clone());
    return out;
  });
}

/**
 * An HF GPT-2 state dict (GPT2Model or GPT2LMHeadModel keys, i.e. with or without "transformer.")
 * as ours: new tensors (owned by the caller, or by its scope), Conv1D weights transposed to [out, in], buffers and lm_head dropped. Feed
 * the result to `GPT.loadStateDict` (which reports any name or shape that does not fit), then
 * dispose it.
 */
export function hfToGptStateDict(stateDict: Record<string, Tensor>): Record<string, Tensor> {
  const sd = checkDict('hfToGptStateDict', stateDict);
  return noGrad(() => {
    const out: Record<string, Tensor> = {};
    for (const [key, t] of Object.entries(sd)) {
      const name = key.startsWith('transformer.') ? key.slice('transformer.'.length) : key;
      if (HF_ONLY.test(name)) continue;
      if (isHfConv1dWeight(name) && t.rank !== 2) throw argError('hfToGptStateDict', `stateDict["${key}"]`, 'a 2-D Conv1D weight [in, out]', t.describe());
      out[name] = (isHfConv1dWeight(name) ? transpose(t, 0, 1) : t.clone());
    }
    return out;
  });
}
