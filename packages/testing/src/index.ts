export { env, isolatedPlatform, until } from './isolatedPlatform.js';
