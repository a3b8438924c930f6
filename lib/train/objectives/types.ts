/**
 * What the training loop needs of a pretraining objective: the loss of the next micro-batch, a
 * validation pass, and the state that makes a resumed run draw the same batches. The loop
 * (trainer.ts) owns steps, the schedule, clipping, the optimizer and checkpoints; an objective owns
 * its data and its model's loss.
 */
import type { Tensor } from '../../tensor';

/** The objectives `glm train --objective` knows. */
export type ObjectiveName = 'causal' | 'mlm+nsp' | 'glm';

/** The objective names, in the order messages list them. */
export const OBJECTIVE_NAMES: readonly ObjectiveName[] = ['causal', 'mlm+nsp', 'glm'];

/** A micro-batch's loss: `loss` is what backward runs on; `parts` are logged beside it (e.g. mlm, nsp). */
export interface MicroLoss {
  loss: Tensor;
  parts: Record<string, Tensor>;
}

/** A validation result: the mean loss, its parts, and the loss perplexity is reported from. */
export interface ObjectiveEval {
  loss: number;
  parts: Record<string, number>;
  /** The per-token LM cross-entropy (causal, masked-LM or blank-infilling) behind the perplexity. */
  lmLoss: number;
}

/** One pretraining objective over one model and its data. */
export interface TrainObjective {
  readonly name: ObjectiveName;
  /** Input tokens one micro-batch feeds (for tokens/s). */
  readonly tokensPerMicroBatch: number;
  /** The next micro-batch's loss, in training mode (dropout seeded with `dropoutSeed`). */
  trainLoss(step: number, micro: number, dropoutSeed: number): MicroLoss;
  /** Mean losses over `iters` fixed validation batches (the same ones at every evaluation). */
  evaluate(iters: number): Promise<ObjectiveEval>;
  /** What state.json keeps so a resume draws the same batches. */
  getState(): unknown;
  setState(state: unknown): void;
}
