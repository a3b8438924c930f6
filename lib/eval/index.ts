/**
 * Evaluation of classifiers: metrics from gold and predicted class ids (classification.ts) and the
 * multinomial Naive Bayes bag-of-words baseline they are compared against (naiveBayes.ts).
 */
export { classificationReport, formatReport } from './classification';
export type { ClassificationReport, ClassScores } from './classification';
export { MultinomialNaiveBayes, wordTokens, MAX_WORD_TOKEN_LENGTH } from './naiveBayes';
export type { MultinomialNaiveBayesOptions } from './naiveBayes';
