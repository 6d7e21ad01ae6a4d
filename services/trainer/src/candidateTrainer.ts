import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { trainCandidate, type CandidateInput, type CandidateOutput } from './trainCandidate.js';

/** Runs one training run somewhere: in this thread or in a worker. */
export type CandidateTrainer = (input: CandidateInput) => Promise<CandidateOutput>;

/** In the calling thread (tests, benches): simplest, but blocks the event loop while training. */
export const inlineCandidateTrainer = (): CandidateTrainer => trainCandidate;

const WorkerReply = z.union([
  z.object({ ok: z.literal(true), out: z.custom<CandidateOutput>((v) => typeof v === 'object' && v !== null && 'stateFiles' in v) }),
  z.object({ ok: z.literal(false), message: z.string(), name: z.string() }),
]);

/** In a fresh worker thread per run (production): the main thread stays responsive. `workerUrl` is dist/trainWorker.js. */
export const workerCandidateTrainer = (workerUrl: URL): CandidateTrainer => (input) =>
  new Promise<CandidateOutput>((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: input });
    let settled = false;
    worker.once('message', (msg: unknown) => {
      settled = true;
      const reply = WorkerReply.safeParse(msg);
      if (!reply.success) reject(new Error(`training worker sent an unexpected reply: ${reply.error.message}`));
      else if (reply.data.ok) resolve(reply.data.out);
      else reject(new Error(`training failed: ${reply.data.message}`));
      void worker.terminate();
    });
    worker.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`training worker exited with code ${code} before answering`));
      settled = true;
    });
  });
