/**
 * Tokenizers: character-level with byte fallback, byte-level BPE (trained here), GPT-2's r50k, one
 * interface, and Hugging Face tokenizer.json save/load.
 */
export type { Tokenizer, TokenizerKind, EncodeOptions, HuggingFaceJSONOptions, HfTokenizerJson } from './types';
export { SPECIAL_NAMES, SPECIAL_TOKENS, isSpecialName } from './specials';
export type { SpecialName } from './specials';
export type { Corpus } from './corpus';
export { CharTokenizer } from './char';
export type { CharTokenizerOptions } from './char';
export { BpeTokenizer } from './bpe';
export { trainBpe } from './train';
export type { TrainBpeOptions } from './train';
export { gpt2Tokenizer, bpeFromTiktokenRanks, r50kRanks } from './gpt2';
export type { TiktokenRanks } from './gpt2';
export { fromHuggingFaceJSON, loadTokenizer, saveTokenizer } from './huggingface';
export type { FromHuggingFaceOptions } from './huggingface';
export { buildTokenizer } from './build';
export type { BuildTokenizerOptions } from './build';
