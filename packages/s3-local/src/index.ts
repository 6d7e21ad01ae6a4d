export { startS3Local, S3_LOCAL_CREDENTIALS } from './server.js';
export type { S3Local, S3LocalOptions } from './server.js';
