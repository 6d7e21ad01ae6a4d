import type { EventOf, TopicKey } from './topics.js';

/**
 * The `source` of every event a Flywheel process publishes. A service may add an instance after its
 * name (`/flywheel/serving/<host>`); the owner check accepts that.
 */
export const FLYWHEEL_SOURCES = {
  aggregator: '/flywheel/aggregator',
  driftMonitor: '/flywheel/drift-monitor',
  feedbackIngest: '/flywheel/feedback-ingest',
  trainer: '/flywheel/trainer',
  abRouter: '/flywheel/ab-router',
  serving: '/flywheel/serving',
  /** The operator CLI (promote, rollback, bootstrap). */
  cli: '/flywheel/cli',
} as const;

/**
 * Who may publish on each topic Flywheel decides on. An event whose source is not one of these is
 * refused by every consumer: a forged trigger, status or routing change never reaches a handler.
 * `feedback` is the one topic open to outside producers (see CLIENT_SOURCE).
 */
export const topicOwners: { readonly [K in Exclude<TopicKey, 'feedback'>]: readonly string[] } = {
  // Threshold rules, drift, and the manual trigger of the admin API.
  retrainingTriggers: [FLYWHEEL_SOURCES.aggregator, FLYWHEEL_SOURCES.driftMonitor, FLYWHEEL_SOURCES.feedbackIngest],
  // Experiment decisions and routing, new challengers, and the operator's promote/rollback/bootstrap.
  modelUpdates: [FLYWHEEL_SOURCES.abRouter, FLYWHEEL_SOURCES.trainer, FLYWHEEL_SOURCES.cli],
  trainingStatus: [FLYWHEEL_SOURCES.trainer],
  driftReports: [FLYWHEEL_SOURCES.driftMonitor],
  predictions: [FLYWHEEL_SOURCES.serving],
};

/**
 * Feedback from outside producers names the producing API client in its source:
 * `/clients/<client-name>`, with the client-name rules of the API keys (lower-case letter first,
 * then letters, digits, `.`, `_`, `-`; at most 63). feedback-ingest publishes what its API accepted
 * under its own source.
 */
export const CLIENT_SOURCE_PREFIX = '/clients/';
const CLIENT_NAME = /^[a-z][a-z0-9._-]{0,62}$/;

/** The source an outside producer of feedback-events must use. */
export const clientSource = (clientName: string): string => `${CLIENT_SOURCE_PREFIX}${clientName}`;

/**
 * Upper bounds on the numbers later events are compared against. A forged value above them would
 * make every genuine event after it look stale; real producers stay far below:
 * - Fencing tokens come from RedisLocks, whose counter starts at the clock in ms and adds one per
 *   grant, so a real token is below the clock as long as grants are rarer than one per millisecond.
 *   A token may be at most `maxFencingTokenAheadMs` past the receiver's clock (skew allowance).
 * - Routing revisions count routing changes in an `integer` column (ab_routing.revision), which
 *   cannot exceed 2^31 − 1.
 */
export interface TrustBounds {
  maxFencingTokenAheadMs: number;
  maxRoutingRevision: number;
}
export const DEFAULT_TRUST_BOUNDS: TrustBounds = { maxFencingTokenAheadMs: 24 * 3_600_000, maxRoutingRevision: 2 ** 31 - 1 };

export interface TrustOptions {
  bounds?: Partial<TrustBounds>;
  /** The receiver's clock in ms (tests pin it). */
  now?: () => number;
}

/** Why an event is refused, or undefined when it may reach its handler. */
export type TrustCheck = (event: EventOf<TopicKey>) => string | undefined;

/** Whether `source` is `owner` itself or an instance of it (`owner/<instance>`). */
const isOwnedBy = (source: string, owner: string): boolean => source === owner || source.startsWith(`${owner}/`);

const ownerCheck = (topic: string, owners: readonly string[], source: string): string | undefined =>
  owners.some((o) => isOwnedBy(source, o))
    ? undefined
    : `source ${JSON.stringify(source)} may not publish on ${topic}; its owners are ${owners.join(', ')}`;

const tokenCheck = (token: number, max: number): string | undefined =>
  token > max ? `fencing token ${token} is beyond the sane bound ${max} (receiver clock + allowance); real lock tokens never get there` : undefined;

/**
 * The trust check the bus applies after a topic's schema, so every consumer refuses the same events:
 * who may publish on the topic (the event type says which), and bounds on fencing tokens and routing
 * revisions.
 */
export const createTrustCheck = (opts: TrustOptions = {}): TrustCheck => {
  const bounds = { ...DEFAULT_TRUST_BOUNDS, ...opts.bounds };
  const now = opts.now ?? Date.now;
  const maxToken = (): number => now() + bounds.maxFencingTokenAheadMs;
  return (event) => {
    switch (event.type) {
      case 'feedback.received.v1': {
        if (isOwnedBy(event.source, FLYWHEEL_SOURCES.feedbackIngest)) return undefined;
        const client = event.source.startsWith(CLIENT_SOURCE_PREFIX) ? event.source.slice(CLIENT_SOURCE_PREFIX.length) : undefined;
        if (client === undefined || !CLIENT_NAME.test(client)) {
          return `source ${JSON.stringify(event.source)} names no client: outside producers of feedback-events publish as ${CLIENT_SOURCE_PREFIX}<client-name>`;
        }
        // The ingest log position is assigned by feedback-ingest only; a forged one would move watermarks.
        if (event.data.sequence !== undefined) return `feedback from ${event.source} carries a sequence; only ${FLYWHEEL_SOURCES.feedbackIngest} assigns one`;
        // Only feedback-ingest, which checked a key, vouches for a client: an outside producer is its own client, standard.
        if (event.data.clientTrust !== undefined || (event.data.client !== undefined && event.data.client !== client)) {
          return `feedback from ${event.source} claims client ${JSON.stringify(event.data.client)} / trust ${JSON.stringify(event.data.clientTrust)}; outside producers speak only for themselves, as standard clients`;
        }
        return undefined;
      }
      case 'retraining.requested.v1':
        return ownerCheck('retraining-triggers', topicOwners.retrainingTriggers, event.source) ?? tokenCheck(event.data.fencingToken, maxToken());
      case 'training.status_changed.v1': {
        const owner = ownerCheck('training-status', topicOwners.trainingStatus, event.source);
        return owner ?? (event.data.fencingToken !== undefined ? tokenCheck(event.data.fencingToken, maxToken()) : undefined);
      }
      case 'model.updated.v1': {
        const owner = ownerCheck('model-updates', topicOwners.modelUpdates, event.source);
        if (owner || event.data.action !== 'routing_changed') return owner;
        const revision = event.data.routing.revision;
        return revision > bounds.maxRoutingRevision ? `routing revision ${revision} is beyond the sane bound ${bounds.maxRoutingRevision}; real revisions count routing changes` : undefined;
      }
      case 'drift.reported.v1':
        return ownerCheck('drift-reports', topicOwners.driftReports, event.source);
      case 'prediction.made.v1':
        return ownerCheck('predictions', topicOwners.predictions, event.source);
    }
  };
};

/**
 * Who reported a feedback event, as far as a consumer can believe it. An outside producer is the
 * client its source names (`/clients/<name>`), always standard: it cannot vouch for trust or for
 * another client. Otherwise the event comes from feedback-ingest, which authenticated the client and
 * stamped its name and trust (an event without a client is anonymous and standard).
 */
export const reporterOf = (event: Pick<EventOf<'feedback'>, 'source' | 'data'>): { client: string | undefined; trusted: boolean } =>
  event.source.startsWith(CLIENT_SOURCE_PREFIX)
    ? { client: event.source.slice(CLIENT_SOURCE_PREFIX.length), trusted: false }
    : { client: event.data.client, trusted: event.data.clientTrust === 'trusted' };

/**
 * Whether an outcome may count for a prediction: it comes from the client the answer went to, or
 * from a trusted client. A prediction without a client (older events) takes trusted outcomes only.
 */
export const outcomeCounts = (predictionClient: string | undefined, reporter: { client: string | undefined; trusted: boolean }): boolean =>
  reporter.trusted || (predictionClient !== undefined && reporter.client === predictionClient);
