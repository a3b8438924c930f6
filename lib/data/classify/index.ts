/**
 * Data for text classification: labeled texts from a JSONL file (jsonl.ts) or the SpamAssassin
 * corpus (spamAssassin.ts), and their deterministic train/test split by id hash (split.ts).
 */
export { checkKnownLabels, labelSet, readClassifyJsonl } from './jsonl';
export type { LabeledText, ReadClassifyJsonlOptions } from './jsonl';
export { idHashUniform, splitByIdHash, DEFAULT_SPLIT_SALT } from './split';
export type { ClassCount, ClassifySplit, SplitByIdHashOptions } from './split';
export { loadSpamAssassin, spamAssassinDataDir, SPAM_ASSASSIN_PACKAGE } from './spamAssassin';
export type { LoadSpamAssassinOptions, SpamAssassinCorpus } from './spamAssassin';
export { emailView, EMAIL_VIEW_HEADERS } from './emailView';
