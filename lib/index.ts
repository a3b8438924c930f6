/**
 * glm-native: train, fine-tune and run generative transformer language models from Node.js on
 * native CPU and CUDA kernels.
 */
export { Tensor } from './tensor';
export type { TensorOptions } from './tensor';
export type { DType } from './dtype';
export { GlmError } from './errors';
export { scope, keep } from './scope';
export { noGrad, isGradEnabled, backward } from './autograd';
export { devices, memory, emptyCache, synchronize, cudaAvailable, buildInfo, numThreads, setNumThreads } from './device';
export type { DeviceInfo, MemoryStats, BuildInfo } from './native';
export * as ops from './ops/index';
export * as optim from './optim/index';
export * as nn from './nn/index';
export * as models from './models/index';
export { GPT } from './models/gpt';
export type { GPTConfig, GPTPresetName } from './models/gpt';
export * as tokenizer from './tokenizer/index';
export { CharTokenizer, BpeTokenizer, trainBpe, gpt2Tokenizer, loadTokenizer, saveTokenizer, buildTokenizer } from './tokenizer/index';
export type { Tokenizer } from './tokenizer/index';
export * as data from './data/index';
export { Random } from './random';
export type { RandomState } from './random';
export { saveTensors, loadTensors } from './io/tensors';
export { train } from './train/run';
export type { TrainOptions, TrainResult } from './train/run';
export type { TrainEvent } from './train/trainer';
export type { TrainSettings } from './train/settings';
export { evaluateRun, loadRunModel } from './train/evaluate';
export type { EvalResult } from './train/evaluate';
export { generate, generateText, generateBatch } from './generate/index';
export type { GenerateOptions, GenerationResult, FinishReason } from './generate/index';
export { KVCache } from './nn/kvCache';
export { Encoder } from './models/encoder';
export type { EncoderConfig, EncoderPresetName } from './models/encoder';
export { SequenceClassifier } from './models/classifier';
export { finetune } from './train/finetune';
export type { FinetuneOptions, FinetuneResult, FinetuneEval } from './train/finetune';
export { evaluateClassifierRun } from './train/evaluateClassifier';
export { infill } from './generate/infill';
export type { InfillOptions, InfillResult } from './generate/infill';
export * as classify from './data/classify/index';
export * as evaluation from './eval/index';
