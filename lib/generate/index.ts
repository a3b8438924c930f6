/** Text generation: streaming, stop strings, sampling, batched prompts (see generate.ts). */
export { generate, generateText, generateBatch } from './generate';
export type { GenerationResult } from './generate';
export type { GenerateOptions, SamplingParams } from './options';
export type { FinishReason } from './decode';
export { IncrementalDecoder, StopMatcher } from './textStream';
