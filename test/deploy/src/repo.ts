import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The repository root (test/deploy/src -> ../../..), so checks run the same from any working directory. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** A path under the repository root. */
export const repoPath = (...parts: string[]): string => resolve(repoRoot, ...parts);
