export { createService } from './createService.js';
export type { Service, ServiceOptions, Started } from './createService.js';
export { ServiceConfig } from './serviceConfig.js';
export { createSchedule } from './schedule.js';
export type { Schedule } from './schedule.js';
