/**
 * The data pipeline of a training run: resolve the inputs (corpus.ts), stream their text (reader.ts),
 * tokenize once into a shard file (shard.ts), split it (split.ts) and draw batches (sampler.ts).
 */
export { defaultCorpus, defaultCorpusDir, resolveCorpus, DEFAULT_CORPUS_PACKAGE } from './corpus';
export type { Corpus, CorpusFile, ResolveCorpusOptions, SkippedFile } from './corpus';
export { readCorpus, newReadStats, DEFAULT_CHUNK_BYTES } from './reader';
export type { CorpusChunk, ReadCorpusOptions, ReadStats } from './reader';
export { buildShard, documentSeparatorIds, ensureShard, openShard, readShardHeader, shardFingerprint, DOCUMENT_SEPARATOR } from './shard';
export type { BuildShardOptions, BuildShardResult, EnsureShardResult, OpenShardOptions, ShardHeader, ShardProgress, TokenizerLike, TokenShard } from './shard';
export { SHARD_HEADER_BYTES, SHARD_MAGIC, SHARD_VERSION } from './shardFormat';
export { splitTokens, DEFAULT_VAL_FRACTION } from './split';
export type { SplitOptions, TokenRange, TokenSplit } from './split';
export { BatchSampler } from './sampler';
export type { Batch, BatchSamplerOptions, BatchSamplerState, TokenArray } from './sampler';
