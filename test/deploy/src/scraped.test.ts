import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRepoRoot, readPlatformEnv, SERVICE_NAMES, startLocalStack, type LocalStack } from '@flywheel/local-stack';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { readCatalog } from './catalog.js';
import { namesInExposition } from './exposition.js';
import { allQueries, unknownNames } from './metricCheck.js';
import { repoPath } from './repo.js';
import { scrapedNames, scrapeSourceFrom, type ScrapeSource } from './scrapedMetrics.js';

const given = scrapeSourceFrom(process.env);
// With no dumps or URLs given, the check starts the six services itself on the local platform
// (scripts/test.sh brings it up and exports its addresses).
const startOwnStack = given === undefined && process.env.KAFKA_BROKERS !== undefined;

/** Every metric a dashboard or rule names must be exported by a service or listed as external. */
const expectDashboardsAndRulesCovered = async (source: ScrapeSource): Promise<void> => {
  const { names, sources } = await scrapedNames(source);
  expect(sources.length, 'no /metrics bodies found').toBeGreaterThan(0);
  const external = readCatalog(repoPath('test/deploy/metrics/external.txt'));
  const { queries, recorded } = allQueries();
  const known = new Set([...names, ...external.keys(), ...recorded]);
  expect(unknownNames(queries, known)).toEqual([]);
  // The documented list should match reality too; report drift without failing on a service that is
  // not in the dumps (e.g. a run without the trainer).
  const documented = readCatalog(repoPath('test/deploy/metrics/documented.txt'));
  const unseen = [...documented.keys()].filter((n) => !names.has(n));
  if (unseen.length > 0) console.warn(`documented but not in the scraped bodies (${sources.length} sources): ${unseen.join(', ')}`);
};

describe('metric names against what the services really export', () => {
  it('reads families from TYPE lines and sample names from a /metrics body', () => {
    const body = [
      '# HELP flywheel_serving_requests_total Prediction requests',
      '# TYPE flywheel_serving_requests_total counter',
      '# HELP flywheel_trainer_job_duration_seconds Job time',
      '# TYPE flywheel_trainer_job_duration_seconds histogram',
      'flywheel_trainer_job_duration_seconds_bucket{le="1",model="m"} 0',
      'up 1',
    ].join('\n');
    expect([...namesInExposition(body)].sort()).toEqual(
      ['flywheel_serving_requests_total', 'flywheel_trainer_job_duration_seconds', 'flywheel_trainer_job_duration_seconds_bucket', 'up'].sort(),
    );
  });

  // Dumps (FLYWHEEL_METRICS_DIR, e.g. from `pnpm metrics:dump`) or live endpoints (FLYWHEEL_METRICS_URLS).
  it.runIf(given !== undefined)('every dashboard and rule metric is in the given /metrics bodies or listed as external', async () => {
    await expectDashboardsAndRulesCovered(given ?? {});
  });

  describe.runIf(startOwnStack)('on the six services started from their builds', () => {
    let platform: IsolatedPlatform | undefined;
    let stack: LocalStack | undefined;
    beforeAll(async () => {
      // A schema, Redis prefix and bucket of this file's own, all removed in afterAll: the stack's
      // default Redis prefix is the operator stack's (`flywheel`), where its aggregator would mark
      // the operator's counters as built.
      platform = await isolatedPlatform('metrics-check');
      stack = await startLocalStack({
        runId: `metrics-check-${platform.run}`,
        pgSchema: platform.schema,
        platformEnv: { ...readPlatformEnv(findRepoRoot()), S3_BUCKET: platform.s3.bucket },
        commonEnv: { REDIS_PREFIX: platform.redisPrefix },
        logDir: join(mkdtempSync(join(tmpdir(), 'metrics-check-')), 'logs'),
      });
    }, 240_000);
    afterAll(async () => {
      try {
        await stack?.stopAll();
      } finally {
        await platform?.drop();
      }
    }, 60_000);

    it('every dashboard and rule metric is exported by a running service or listed as external', async () => {
      const live = stack;
      if (!live) throw new Error('the stack did not start');
      await expectDashboardsAndRulesCovered({ urls: SERVICE_NAMES.map((s) => `${live.url(s)}/metrics`) });
    });
  });
});
