// Worker-thread entry of workerPredictionSink: builds, validates (publishMany checks the topic
// schema) and publishes prediction events with its own Kafka producer, off serving's request loop.
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
      await bus.publisher.publishMany('predictions', m.records.map((r) => predictionEvent(r, data.source)));
      reply({ kind: 'sent', id: m.id });
    } catch (err) {
      reply({ kind: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
