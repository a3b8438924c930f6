/** Model architectures, as `glm.models`: GPT (config, presets, parameter table, HF GPT-2 interop), the encoders (BERT-style and GLM) and classifiers on them. */
export { GPT } from './gpt';
export type { CreateCacheOptions, ForwardCachedOptions, GPTForwardOptions, GPTOptions, GPTOutput } from './gpt';
export { DEFAULT_ROPE_BASE, GPT_PRESETS, gptConfig, POSITIONAL_KINDS, validateGptConfig } from './gptConfig';
export type { GPTConfig, GPTPresetName, PositionalKind } from './gptConfig';
export { gptParameterCount, gptParameterSpecs, INIT_STD } from './gptParams';
export { gptToHfStateDict, hfToGptStateDict, isHfConv1dWeight } from './gptHf';
export { sinusoidalTable } from './positional';
export { Encoder, ENCODER_PRESETS, encoderConfig, encoderParameterCount, encoderParameterSpecs, validateEncoderConfig } from './encoder';
export type { EncoderArch, EncoderConfig, EncoderInput, EncoderPassOptions, EncoderPresetName, GlmBatch, MlmNspBatch, MlmNspLoss } from './encoder';
export { SequenceClassifier, poolingOf } from './classifier';
export type { ClassificationTask, ClassifierBody, ClassifierInput, Pooling } from './classifier';
