import * as tf from '@tensorflow/tfjs';
import { LearningError } from './errors.js';

/** TensorFlow.js backends, fastest first. */
export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCE: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

export interface BackendOptions {
  /** order to try (default: BACKEND_PREFERENCE) */
  preferred?: readonly BackendName[];
  /** wasm threads (only honoured where the threaded wasm build can load) */
  threads?: number;
}

let active: BackendName | undefined;

// Optional native packages: imported by name at run time so they are never required to build or install.
async function tryImport(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

async function trySet(name: BackendName, options: BackendOptions): Promise<boolean> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      if (!(await tryImport(name === 'tfjs-node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'))) return false;
      return tf.setBackend('tensorflow');
    }
    case 'wasm': {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        if (options.threads !== undefined) wasm.setThreadsCount(options.threads);
        return await tf.setBackend('wasm');
      } catch {
        return false;
      }
    }
    case 'cpu': {
      // The cpu backend prints a banner in Node unless IS_TEST; IS_TEST must not stay on (it adds leak checks).
      const wasTest = tf.env().getBool('IS_TEST');
      tf.env().set('IS_TEST', true);
      try {
        return await tf.setBackend('cpu');
      } finally {
        tf.env().set('IS_TEST', wasTest);
      }
    }
  }
}

/**
 * Selects the fastest TensorFlow.js backend present (tfjs-node-gpu, tfjs-node, wasm, cpu) and
 * returns the name of the one now running. Idempotent: later calls return the active one.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendName> {
  if (active !== undefined) return active;
  for (const name of options.preferred ?? BACKEND_PREFERENCE) {
    if (await trySet(name, options)) {
      await tf.ready();
      active = name;
      return name;
    }
  }
  throw new LearningError('no_backend', 'no TensorFlow.js backend could start; install @tensorflow/tfjs-backend-wasm');
}

/** The backend chosen by initBackend, if any. */
export const activeBackend = (): BackendName | undefined => active;
