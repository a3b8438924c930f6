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
