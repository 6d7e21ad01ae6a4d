export { bootstrapModel, BOOTSTRAP_STRATEGY, CLI_SOURCE } from './bootstrapModel.js';
export { commands } from './commands.js';
export type { CliDeps } from './commands.js';
export { formatTable } from './formatTable.js';
export { importClassifier, STORED_LABELS_FILE } from './importClassifier.js';
export { importEncoderModel } from './importEncoder.js';
export { storeEncoderFolder } from './storeEncoderFolder.js';
