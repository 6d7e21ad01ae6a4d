// Worker-thread entry of workerPredictionSink: builds and publishes prediction events with its own
// Kafka producer, off serving's request loop.
//
// Published through the validated publisher (envelope type and version checked, not the whole
// schema again), as the ingest relay does for rows it built: each field was checked once already
// (text and subjectId by the request schema, which predictionEvent.test.ts holds to the event's;
// ids, versions, numbers made here), and every consumer validates each event it reads, dead-lettering
// one that fails with the reason. The full check here cost about an eighth of this worker's CPU, so
// the worker fell behind full-load traffic and the log dropped events (bench:serve), and one event
// it refused failed its whole batch of up to 1,000.
import { parentPort, workerData } from 'node:worker_threads';
import { createKafkaBus, kafkaSecurityFromConfig } from '@flywheel/bus';
import { createLogger, createMetricsRegistry } from '@flywheel/runtime';
import { predictionEvent } from './predictionEvent.js';
import type { FromPublishWorker, PublishWorkerData, ToPublishWorker } from './workerPredictionSink.js';

const data = workerData as PublishWorkerData;
const port = parentPort;
if (port === null) throw new Error('predictionPublishWorker runs as a worker thread (workerPredictionSink starts it)');
const logger = createLogger({ service: 'serving', level: data.logLevel }).child({ component: 'prediction-publisher' });
const bus = createKafkaBus({
  brokers: data.brokers, clientId: data.clientId, topicPrefix: data.topicPrefix, logger, security: kafkaSecurityFromConfig(data.security),
  // This bus only publishes: the consume loop's dedupe is never asked.
  metrics: createMetricsRegistry('serving-prediction-publisher'),
  dedupe: { seen: async (_group, ids) => ids.map(() => false), mark: async () => {} },
});
const reply = (m: FromPublishWorker): void => port.postMessage(m);

port.on('message', (m: ToPublishWorker) => {
  if (m.kind === 'close') {
    void bus.close().catch((err: unknown) => logger.warn({ err }, 'closing the prediction producer failed')).finally(() => {
      reply({ kind: 'closed' });
      port.close();
    });
    return;
  }
  // Not awaited: batches pipeline to Kafka; each is answered on its own acknowledgement.
  void (async () => {
    try {
      await bus.validatedPublisher.publishMany('predictions', m.records.map((r) => predictionEvent(r, data.source)));
      reply({ kind: 'sent', id: m.id });
    } catch (err) {
      reply({ kind: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
