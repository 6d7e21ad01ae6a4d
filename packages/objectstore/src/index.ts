export type { ObjectStore } from './ObjectStore.js';
export { MinioObjectStore } from './MinioObjectStore.js';
export type { S3Settings } from './MinioObjectStore.js';
