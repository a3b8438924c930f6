/** Modules with parameters (Linear, Embedding, LayerNorm, attention, MLP, Block) and parameter specs, as `glm.nn`. */
export { Module, checkParameter } from './module';
export { CastCache, ForwardContext, dropoutSiteSeed } from './context';
export type { ComputeDType, ForwardContextOptions } from './context';
export { Linear } from './linear';
export { Embedding } from './embedding';
export { LayerNorm, LAYER_NORM_EPS } from './layerNorm';
export { CausalSelfAttention, SelfAttention } from './attention';
export type { CausalSelfAttentionOptions, SelfAttentionOptions } from './attention';
export { MLP } from './mlp';
export { Block } from './block';
export {
  createParameters, decays, embeddingSpec, layerNormSpecs, linearSpecs, numelOf, parameterCount, parameterSeed,
} from './params';
export type { CreateParametersOptions, ParamInit, ParamSpec } from './params';
