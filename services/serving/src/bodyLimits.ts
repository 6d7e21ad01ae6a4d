/** One text of up to 20,000 characters needs well under this, even JSON-escaped: the limit of POST …/predict. */
export const PREDICT_BODY_LIMIT_BYTES = 1024 * 1024;
/** 256 rows of up to 20,000 characters each, JSON-escaped: the limit of the batch routes (as before keys came in). */
export const BATCH_BODY_LIMIT_BYTES = 12 * 1024 * 1024;
/** Express's JSON parser limit: the largest route's (the front handler holds the smaller ones to theirs). */
export const EXPRESS_BODY_LIMIT = '12mb';

const BATCH_ROUTE = /^\/v1\/models\/[^/?]+\/(?:predict:batch|predict\/batch)(?:\?|$)/;

/** The most bytes a request to `url` may carry: the batch limit on the batch routes, 1 MB everywhere else. */
export const bodyLimitOf = (url: string): number => (BATCH_ROUTE.test(url) ? BATCH_BODY_LIMIT_BYTES : PREDICT_BODY_LIMIT_BYTES);
