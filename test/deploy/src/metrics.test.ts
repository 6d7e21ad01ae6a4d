import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readCatalog } from './catalog.js';
import { allQueries, dashboards, ruleFiles, unknownNames } from './metricCheck.js';
import { metricNames } from './promql.js';
import type { Query } from './queries.js';
import { repoPath } from './repo.js';

const documented = readCatalog(repoPath('test/deploy/metrics/documented.txt'));
const external = readCatalog(repoPath('test/deploy/metrics/external.txt'));

describe('metric names in dashboards and alert rules', () => {
  const { queries, recorded } = allQueries();

  it('finds the dashboards, the rule files and their queries', () => {
    expect(dashboards.length).toBeGreaterThan(0);
    expect(ruleFiles.length).toBeGreaterThan(0);
    expect(queries.length).toBeGreaterThan(40);
  });

  it('every query parses as PromQL', () => {
    const broken = queries.flatMap((q) => {
      try {
        metricNames(q.expr);
        return [];
      } catch (err) {
        return [`${q.where}: ${(err as Error).message}`];
      }
    });
    expect(broken).toEqual([]);
  });

  it('names only metrics the services document, or listed external ones', () => {
    const known = new Set([...documented.keys(), ...external.keys(), ...recorded]);
    expect(unknownNames(queries, known)).toEqual([]);
  });

  it('would catch a metric nobody exports', () => {
    const known = new Set(documented.keys());
    const bad: Query[] = [{ where: 'sample', expr: 'sum(rate(flywheel_serving_requests_total[5m])) / sum(rate(flywheel_servng_requests_total[5m]))' }];
    expect(unknownNames(bad, known)).toEqual(['flywheel_servng_requests_total (sample)']);
    expect(unknownNames([{ where: 'h', expr: 'histogram_quantile(0.9, rate(flywheel_trainer_job_duration_seconds_bucket[5m]))' }], known)).toEqual([]);
  });

  it('external metrics come from an exporter that the compose stack runs', () => {
    const compose = parse(readFileSync(repoPath('deploy/compose/compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { image?: string }>;
    };
    const images = Object.values(compose.services).map((s) => s.image ?? '');
    const missing = [...new Set(external.values())].filter((producer) => !images.some((i) => i.includes(producer)));
    expect(missing).toEqual([]);
  });

  it('the dashboard covers the loop at a glance', () => {
    const used = new Set(queries.filter((q) => q.where.includes('dashboards')).flatMap((q) => metricNames(q.expr)));
    const wanted = [
      'flywheel_ingest_feedback_accepted_total', // feedback rate
      'flywheel_aggregator_pending_corrections', // pending corrections ...
      'flywheel_aggregator_correction_threshold', // ... against each model's threshold
      'flywheel_aggregator_triggers_total', // triggers by reason
      'flywheel_trainer_jobs_total', // training jobs
      'flywheel_trainer_job_duration_seconds_bucket', // and their duration
      'flywheel_registry_versions', // versions and their status
      'flywheel_abrouter_arm_accuracy', // A/B statistics per variant
      'flywheel_abrouter_arm_samples',
      'flywheel_drift_score', // drift scores
      'flywheel_serving_request_duration_seconds_bucket', // latency p50/p95/p99
      'flywheel_serving_errors_total', // error rate
      'flywheel_bus_consumer_lag_messages', // consumer lag per group
      'flywheel_outbox_backlog', // outbox backlog
    ];
    expect(wanted.filter((m) => !used.has(m))).toEqual([]);
  });

  it('there is an alert for each condition the operators asked for', () => {
    const alerts = queries.filter((q) => q.where.includes(' alert ')).map((q) => q.where.replace(/^.* alert /, ''));
    expect(alerts.sort()).toEqual(
      [
        'FlywheelServiceDown',
        'FlywheelModelAccuracyDropped',
        'FlywheelRetrainingFailed',
        'FlywheelConsumerLagHigh',
        'FlywheelApiLatencyHigh',
        'FlywheelRedisMemoryHigh',
        'FlywheelOutboxBacklogGrowing',
        'FlywheelDriftSignificant',
        'FlywheelAbRouterLeaderCount',
      ].sort(),
    );
  });
});
