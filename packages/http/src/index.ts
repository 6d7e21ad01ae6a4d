export { createHttpApp, listen } from './createHttpApp.js';
export type { HttpAppOptions, ReadinessCheck, ReadinessResult } from './createHttpApp.js';
export { HttpError, toHttpError } from './httpErrors.js';
export type { ErrorBody } from './httpErrors.js';
export { requireBearer, requireApiKey } from './auth.js';
