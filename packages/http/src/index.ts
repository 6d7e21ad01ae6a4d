export { createHttpApp, listen } from './createHttpApp.js';
export type { FrontHandler, HttpAppOptions, ReadinessCheck, ReadinessResult } from './createHttpApp.js';
export { toHttpError } from './httpErrors.js';
export type { ErrorBody } from './httpErrors.js';
