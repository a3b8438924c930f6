/** Optimizers, gradient clipping and learning-rate schedules, as `glm.optim`. */
export { AdamW } from './adamw';
export type { AdamWOptions, AdamWStateInfo } from './adamw';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export type { ParamGroup } from './params';
export { clipGradNorm, gradNorm, scaleGradsInPlace } from './clip';
export { constant, cosineWithWarmup, linearWarmup } from './schedule';
export type { Schedule } from './schedule';
