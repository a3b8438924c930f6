/**
 * model.safetensors of a run: the GPT's weights under GPT-2's tensor names and in Hugging Face's
 * layout (Conv1D projections [in, out]), so a run with GPT-2's architecture loads as HF GPT2Model
 * weights; read back into our [out, in] layout.
 */
import { gptToHfStateDict, hfToGptStateDict } from '../models/gptHf';
import type { GPT } from '../models/gpt';
import { loadTensors, saveTensorsSync } from '../io/tensors';
import { scope } from '../scope';

/** Writes the model's weights to `file` (atomically), tagged with the training step. */
export function saveModelWeights(file: string, model: GPT, step: number): void {
  // The transposed copies live only for the write.
  scope(() => saveTensorsSync(file, gptToHfStateDict(model.stateDict()), { format: 'pt', step: String(step) }));
}

/** Loads weights written by saveModelWeights (or HF GPT-2 weights) into `model`. */
export function loadModelWeights(file: string, model: GPT): void {
  scope(() => model.loadStateDict(hfToGptStateDict(loadTensors(file, { device: model.device }).tensors)));
}
