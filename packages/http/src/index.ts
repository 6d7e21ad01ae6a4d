export { createHttpApp, listen } from './createHttpApp.js';
export type { FrontHandler, HttpAppOptions, ReadinessCheck, ReadinessResult } from './createHttpApp.js';
export { toHttpError } from './httpErrors.js';
export type { ErrorBody } from './httpErrors.js';
export { documentedRoutes, openApiFileDrift, registeredRoutes } from './openApiDrift.js';
export type { OpenApiPaths } from './openApiDrift.js';
export { getFromRoutes } from './getFromRoutes.js';
export type { GetAnswer } from './getFromRoutes.js';
