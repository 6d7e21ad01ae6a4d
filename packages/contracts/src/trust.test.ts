import { describe, expect, it } from 'vitest';
import { clientSource, createTrustCheck, DEFAULT_TRUST_BOUNDS, FLYWHEEL_SOURCES, makeEvent, topicOwners, type DataOf, type EventOf, type TopicKey } from './index.js';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const check = createTrustCheck({ now: () => NOW });
const fid = '6f1c1f1e-9a55-4b0e-8a8c-2f4a5b6c7d8e';

const data: { [K in TopicKey]: DataOf<K> } = {
  feedback: { feedbackId: fid as never, text: 'late parcel', kind: 'misclassification', predictedLabel: 'low', correctLabel: 'high' },
  predictions: { predictionId: fid as never, modelVersion: '1.0.0' as never, variant: 'champion', text: 'hi', label: 'low', confidence: 0.9, latencyMs: 1 },
  // A real token: RedisLocks seeds its counter with the clock in ms, then adds one per grant.
  retrainingTriggers: { reason: 'threshold', details: {}, requestedBy: 'aggregator', fencingToken: (NOW - 86_400_000 + 12) as never },
  trainingStatus: { jobId: fid as never, state: 'running', progress: 0.5, fencingToken: (NOW - 1) as never },
  modelUpdates: { action: 'routing_changed', routing: { champion: '1.0.0' as never, challengerShareBps: 0, salt: 's', revision: 41 } },
  driftReports: { modelVersion: '1.0.0' as never, windowStart: new Date(NOW).toISOString(), windowEnd: new Date(NOW).toISOString(), predictions: 10, labelled: 0, measurements: [], level: 'none', triggeredRetraining: false },
};
const event = <K extends TopicKey>(k: K, source: string, d: DataOf<K> = data[k]): EventOf<K> => makeEvent(k, { source, subject: 'm', data: d });

describe('topic ownership', () => {
  it('lets every owner of a topic publish on it, with or without an instance suffix', () => {
    for (const [k, owners] of Object.entries(topicOwners) as [Exclude<TopicKey, 'feedback'>, readonly string[]][]) {
      for (const o of owners) expect(check(event(k, o)), `${k} from ${o}`).toBeUndefined();
    }
    expect(check(event('predictions', `${FLYWHEEL_SOURCES.serving}/serving-7d9f-abc`))).toBeUndefined();
  });

  it('refuses each control event from a source that does not own its topic, naming the owners', () => {
    expect(check(event('retrainingTriggers', '/evil'))).toMatch(/source "\/evil" may not publish on retraining-triggers; its owners are \/flywheel\/aggregator/);
    expect(check(event('retrainingTriggers', FLYWHEEL_SOURCES.trainer))).toMatch(/may not publish on retraining-triggers/);
    expect(check(event('modelUpdates', FLYWHEEL_SOURCES.serving))).toMatch(/may not publish on model-updates/);
    expect(check(event('trainingStatus', FLYWHEEL_SOURCES.aggregator))).toMatch(/may not publish on training-status/);
    expect(check(event('driftReports', '/flywheel/drift-monitor-evil'))).toMatch(/may not publish on drift-reports/);
    expect(check(event('predictions', '/flywheel/servingx'))).toMatch(/may not publish on predictions/);
    // A name that merely starts with an owner's is not that owner.
    expect(check(event('retrainingTriggers', '/flywheel/aggregator-2'))).toMatch(/may not publish/);
  });
});

describe('feedback from outside producers', () => {
  it('accepts feedback-ingest and named API clients', () => {
    expect(check(event('feedback', FLYWHEEL_SOURCES.feedbackIngest, { ...data.feedback, sequence: 12 }))).toBeUndefined();
    expect(check(event('feedback', clientSource('partner-crm')))).toBeUndefined();
  });

  it('refuses feedback that names no client, a malformed client, a Flywheel impersonator, or a forged ingest sequence', () => {
    expect(check(event('feedback', '/outside/producer'))).toMatch(/names no client: outside producers of feedback-events publish as \/clients\/<client-name>/);
    expect(check(event('feedback', '/clients/'))).toMatch(/names no client/);
    expect(check(event('feedback', '/clients/Bad Name'))).toMatch(/names no client/);
    expect(check(event('feedback', FLYWHEEL_SOURCES.aggregator))).toMatch(/names no client/);
    expect(check(event('feedback', clientSource('crm'), { ...data.feedback, sequence: 10 ** 12 }))).toMatch(/carries a sequence; only \/flywheel\/feedback-ingest assigns one/);
  });
});

describe('sane bounds', () => {
  it('refuses a fencing token beyond the clock plus the allowance (2^53 - 1 in particular), and accepts one at the bound', () => {
    const max = NOW + DEFAULT_TRUST_BOUNDS.maxFencingTokenAheadMs;
    const trig = (token: number) => event('retrainingTriggers', FLYWHEEL_SOURCES.aggregator, { ...data.retrainingTriggers, fencingToken: token as never });
    expect(check(trig(Number.MAX_SAFE_INTEGER))).toMatch(/fencing token 9007199254740991 is beyond the sane bound/);
    expect(check(trig(max + 1))).toMatch(/beyond the sane bound/);
    expect(check(trig(max))).toBeUndefined();
    expect(check(trig(1))).toBeUndefined(); // an old counter that started at zero
    const status = event('trainingStatus', FLYWHEEL_SOURCES.trainer, { ...data.trainingStatus, fencingToken: Number.MAX_SAFE_INTEGER as never });
    expect(check(status)).toMatch(/fencing token .* is beyond the sane bound/);
  });

  it('refuses a routing revision beyond what ab_routing.revision (integer) can hold', () => {
    const routing = (revision: number) => event('modelUpdates', FLYWHEEL_SOURCES.abRouter, { action: 'routing_changed', routing: { champion: '1.0.0' as never, challengerShareBps: 0, salt: 's', revision } });
    expect(check(routing(Number.MAX_SAFE_INTEGER))).toMatch(/routing revision 9007199254740991 is beyond the sane bound 2147483647/);
    expect(check(routing(2 ** 31 - 1))).toBeUndefined();
  });

  it('takes tighter bounds from its options', () => {
    const strict = createTrustCheck({ now: () => NOW, bounds: { maxRoutingRevision: 100, maxFencingTokenAheadMs: 0 } });
    expect(strict(event('modelUpdates', FLYWHEEL_SOURCES.abRouter, { action: 'routing_changed', routing: { champion: '1.0.0' as never, challengerShareBps: 0, salt: 's', revision: 101 } }))).toMatch(/beyond the sane bound 100/);
    expect(strict(event('retrainingTriggers', FLYWHEEL_SOURCES.driftMonitor, { ...data.retrainingTriggers, fencingToken: (NOW + 1) as never }))).toMatch(/beyond the sane bound/);
  });
});

describe('outside feedback cannot vouch for a client', () => {
  it('refuses a claimed trust level or another client name; accepts its own name', () => {
    const src = clientSource('acme');
    expect(check(event('feedback', src, { ...data.feedback, clientTrust: 'trusted' }))).toMatch(/speak only for themselves/);
    expect(check(event('feedback', src, { ...data.feedback, client: 'reviewer' }))).toMatch(/speak only for themselves/);
    expect(check(event('feedback', src, { ...data.feedback, client: 'acme' }))).toBeUndefined();
    expect(check(event('feedback', FLYWHEEL_SOURCES.feedbackIngest, { ...data.feedback, client: 'reviewer', clientTrust: 'trusted' }))).toBeUndefined();
  });
});
