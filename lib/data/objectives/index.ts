/**
 * Pretraining objectives (issue #6): each turns token ids into model inputs and targets as Int32Arrays,
 * with -100 where a position carries no loss. mlm.ts: BERT's masked LM; nsp.ts: BERT's next-sentence
 * pairs; glm.ts: GLM's autoregressive blank infilling, batched under one prefix length.
 */
export { maskTokens, IGNORE_INDEX } from './mlm';
export type { MlmExample, MlmOptions } from './mlm';
export { buildNspBatch, buildNspExample } from './nsp';
export type { NspBatch, NspDocuments, NspExample, NspOptions } from './nsp';
export { buildGlmBatch, glmAttendable, infillPrompt, infillStep, sampleSpanLengths } from './glm';
export type { GlmBatch, GlmOptions, InfillInput, InfillSpan } from './glm';
