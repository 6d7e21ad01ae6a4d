// A stand-in for predictionPublishWorker (workerPredictionSink.test.ts): answers by the first
// record's text — "fail" reports a failed publish, "crash" exits the thread, anything else is sent.
import { parentPort } from 'node:worker_threads';
import type { FromPublishWorker, ToPublishWorker } from '../workerPredictionSink.js';

const port = parentPort;
if (port === null) throw new Error('fakePublishWorker runs as a worker thread');
port.on('message', (m: ToPublishWorker) => {
  const reply = (r: FromPublishWorker): void => port.postMessage(r);
  if (m.kind === 'close') {
    reply({ kind: 'closed' });
    port.close();
    return;
  }
  const text = m.records[0]?.text;
  if (text === 'crash') process.exit(3);
  reply(text === 'fail' ? { kind: 'failed', id: m.id, message: 'broker down' } : { kind: 'sent', id: m.id });
});
