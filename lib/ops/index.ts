/** The differentiable ops, as `glm.ops`. */
export { add, sub, mul, scale, sum, mean, sumTo } from './elementwise';
export { permute, transpose } from './layout';
export { softmaxCrossEntropy } from './crossEntropy';
export type { CrossEntropyOptions } from './crossEntropy';
export { layerNorm } from './layerNorm';
export { embedding } from './embedding';
export { attention } from './attention';
export { matmul, linear } from './matmul';
export type { MatmulOptions } from './matmul';
export { gelu } from './activation';
export { dropout } from './dropout';
export type { DropoutOptions } from './dropout';
export { rope, ropeAt } from './rope';
export type { RopeOptions } from './rope';
export { sampleTokens, sampleLogits } from './sample';
export type { SampleOptions } from './sample';
