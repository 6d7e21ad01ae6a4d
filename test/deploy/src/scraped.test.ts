import { describe, expect, it } from 'vitest';
import { readCatalog } from './catalog.js';
import { namesInExposition } from './exposition.js';
import { allQueries, unknownNames } from './metricCheck.js';
import { repoPath } from './repo.js';
import { scrapedNames, scrapeSourceFrom } from './scrapedMetrics.js';

const source = scrapeSourceFrom(process.env);

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

  // Runs where the end-to-end job provides dumps (FLYWHEEL_METRICS_DIR, e.g. from `pnpm metrics:dump`) or
  // live endpoints (FLYWHEEL_METRICS_URLS); without either there is nothing real to compare with.
  it.runIf(source !== undefined)('every dashboard and rule metric is scraped from a service or listed as external', async () => {
    const { names, sources } = await scrapedNames(source ?? {});
    expect(sources.length, 'no /metrics dumps found').toBeGreaterThan(0);
    const external = readCatalog(repoPath('test/deploy/metrics/external.txt'));
    const { queries, recorded } = allQueries();
    const known = new Set([...names, ...external.keys(), ...recorded]);
    expect(unknownNames(queries, known)).toEqual([]);
    // The documented list should match reality too; report drift without failing on a service that is
    // not in the dumps (e.g. a run without the trainer).
    const documented = readCatalog(repoPath('test/deploy/metrics/documented.txt'));
    const unseen = [...documented.keys()].filter((n) => !names.has(n));
    if (unseen.length > 0) console.warn(`documented but not in the scraped dumps (${sources.length} sources): ${unseen.join(', ')}`);
  });
});
