import type { RoutingTable } from '@flywheel/contracts';
import type { Client, Keyring, RateLimits, Scope } from '@flywheel/auth';
import { createLogger, createMetricsRegistry, RateLimited, type Logger } from '@flywheel/runtime';
import type { BaseModel, Classifier, InferenceEngine, ModelSource, RawScores, RoutingStore, VersionArtifact } from '../ports.js';
import { createServingMetrics } from '../servingMetrics.js';

/** A classifier whose answer names its version: label index 0 with confidence 0.9, 3 labels. */
export class FakeClassifier implements Classifier {
  readonly labels = ['alpha', 'beta', 'gamma'] as const;
  calls = 0;
  /** When set, predictRaw waits for it (to hold a request in flight). */
  gate: Promise<void> | undefined;
  constructor(readonly version: string) {}
  async predictRaw(texts: readonly string[]): Promise<RawScores> {
    this.calls++;
    if (this.gate) await this.gate;
    const n = texts.length;
    const probabilities = new Float32Array(n * 3);
    for (let r = 0; r < n; r++) probabilities.set([0.9, 0.07, 0.03], r * 3);
    return { rows: n, labelIndex: new Int32Array(n), confidence: new Float32Array(n).fill(0.9), probabilities };
  }
}

export class FakeBase implements BaseModel {
  released = false;
  readonly classifiers = new Map<string, FakeClassifier>();
  constructor(readonly baseVersion: string) {}
  createClassifier(_bytes: Uint8Array, manifest: unknown): Classifier {
    const version = (manifest as { version: string }).version;
    if (version.startsWith('9.')) throw new Error(`adapter ${version} is corrupt`);
    const c = new FakeClassifier(version);
    this.classifiers.set(version, c);
    return c;
  }
  async release(): Promise<void> {
    this.released = true;
  }
}

export class FakeEngine implements InferenceEngine {
  readonly bases: FakeBase[] = [];
  async loadBase(bytes: Uint8Array): Promise<BaseModel> {
    const b = new FakeBase(new TextDecoder().decode(bytes));
    this.bases.push(b);
    return b;
  }
}

/** Every version exists on base "b1" unless its major is 2 (base "b2"). */
export class FakeSource implements ModelSource {
  champ: string | undefined = '1.0.0';
  /** Per-model champions, overriding `champ`. */
  readonly champions = new Map<string, string>();
  loads: string[] = [];
  async champion(model: string): Promise<string | undefined> {
    return this.champions.get(model) ?? this.champ;
  }
  async version(_model: string, version: string): Promise<VersionArtifact> {
    this.loads.push(version);
    const baseVersion = version.startsWith('2.') ? 'b2' : 'b1';
    return { adapterBytes: new Uint8Array(1), adapterManifest: { version }, baseVersion, baseOnnx: async () => new TextEncoder().encode(baseVersion) };
  }
}

export class FakeRouting implements RoutingStore {
  table: RoutingTable | undefined;
  async get(): Promise<RoutingTable | undefined> {
    return this.table;
  }
}

export const quietLogger = (): Logger => createLogger({ service: 'serving-test', level: 'silent' });
export const testMetrics = () => {
  const registry = createMetricsRegistry('serving-test');
  return { registry, metrics: createServingMetrics(registry) };
};
export const table = (t: { champion: string; challenger?: string; challengerShareBps?: number; salt?: string; revision?: number }): RoutingTable =>
  ({ challengerShareBps: 0, salt: 's', revision: 1, ...t }) as RoutingTable;

/** The clients the fake keyring knows, by key. */
export const TEST_CLIENTS = {
  'admin-key': { name: 'admin', scopes: ['predict', 'feedback', 'admin'], trust: 'trusted', keyId: 'ADMIN_TOKEN' },
  'web-key': { name: 'web', scopes: ['predict'], trust: 'standard', keyId: 'fwk_web' },
  'flood-key': { name: 'flood', scopes: ['predict'], trust: 'standard', keyId: 'fwk_flood' },
  'reviewer-key': { name: 'reviewer', scopes: ['feedback'], trust: 'trusted', keyId: 'fwk_reviewer' },
} as const satisfies Record<string, Client>;

/** A keyring that knows TEST_CLIENTS (the real one is tested in @flywheel/auth and serving's itests). */
export const fakeKeyring = (): Keyring => ({
  authenticate: (key) => (TEST_CLIENTS as Record<string, Client>)[key],
  refresh: async () => {},
  fresh: () => true,
  close: () => {},
});

/** Rate limits in memory: `perClient` requests for each client (the real, Redis-backed ones run in the itests). */
export class FakeRateLimits implements RateLimits {
  readonly spent = new Map<string, number>();
  constructor(private readonly perClient: Readonly<Record<string, number>>) {}
  async consume(client: Pick<Client, 'name'>, scope: Scope): Promise<void> {
    const n = (this.spent.get(client.name) ?? 0) + 1;
    this.spent.set(client.name, n);
    const limit = this.perClient[client.name];
    if (limit !== undefined && n > limit) {
      throw new RateLimited(`client "${client.name}" sent more than ${limit} ${scope} requests`, { reason: 'rate_limited', details: { retryAfterSeconds: 42 } });
    }
  }
}
