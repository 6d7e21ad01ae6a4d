// Worker-thread entry: runs one trainCandidate so the main thread keeps heartbeats, lock extensions
// and Kafka alive while TensorFlow.js computes synchronously.
import { parentPort, workerData } from 'node:worker_threads';
import { trainCandidate, type CandidateInput } from './trainCandidate.js';

const input = workerData as CandidateInput;
trainCandidate(input).then(
  (out) => parentPort?.postMessage({ ok: true, out }, [...Object.values(out.stateFiles).map((b) => b.buffer as ArrayBuffer)]),
  (err: unknown) => parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err), name: err instanceof Error ? err.name : 'Error' }),
);
