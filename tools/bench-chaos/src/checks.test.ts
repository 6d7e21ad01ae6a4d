import { describe, expect, it } from 'vitest';
import { danglingVersions, doubleJobs, feedbackFindings, inconsistentDecisions, stuckPartitions, type DecisionState } from './checks.js';

describe('feedbackFindings', () => {
  const accepted = ['a', 'b', 'c'];
  it('counts nothing when every acknowledged id is in the ledger once', () => {
    const ledger = [{ eventId: 'a', predictionId: 'p1' }, { eventId: 'b', predictionId: 'p2' }, { eventId: 'c', predictionId: null }];
    expect(feedbackFindings(accepted, ledger)).toEqual({ lostFeedback: 0, duplicateFeedback: 0, missing: [] });
  });
  it('counts an acknowledged id missing from a doctored ledger as lost', () => {
    const r = feedbackFindings(accepted, [{ eventId: 'a', predictionId: 'p1' }]);
    expect(r.lostFeedback).toBe(2);
    expect(r.missing).toEqual(['b', 'c']);
  });
  it('counts a ledger row twice for one id, and a second id for one prediction, as duplicates', () => {
    const ledger = [
      { eventId: 'a', predictionId: 'p1' }, { eventId: 'a', predictionId: 'p1' }, // the same event twice
      { eventId: 'b', predictionId: 'p2' }, { eventId: 'c', predictionId: 'p2' }, // a retried request stored again under a new id
    ];
    expect(feedbackFindings(accepted, ledger)).toMatchObject({ lostFeedback: 0, duplicateFeedback: 2 });
  });
});

describe('doubleJobs', () => {
  it('counts succeeded jobs beyond the first of one trigger (model and fencing token), not failed ones', () => {
    const jobs = [
      { id: 'j1', model: 'm', fencingToken: 1, state: 'succeeded' },
      { id: 'j2', model: 'm', fencingToken: 1, state: 'succeeded' },
      { id: 'j3', model: 'm', fencingToken: 1, state: 'failed' },
      { id: 'j4', model: 'm', fencingToken: 2, state: 'succeeded' },
      { id: 'j5', model: 'other', fencingToken: 1, state: 'succeeded' },
    ];
    expect(doubleJobs(jobs).doubleJobs).toBe(1);
    expect(doubleJobs(jobs.filter((j) => j.id !== 'j2')).doubleJobs).toBe(0);
  });
});

describe('stuckPartitions', () => {
  it('counts partitions with lag', () => {
    expect(stuckPartitions([{ group: 'g', topic: 't', partition: 0, lag: 0 }, { group: 'g', topic: 't', partition: 1, lag: 3 }]).stuckPartitions).toBe(1);
  });
});

describe('inconsistentDecisions', () => {
  const healthy: DecisionState = {
    experiments: [
      { id: 'e1', model: 'm', state: 'promoted', champion: '1.0.0', challenger: '2.0.0', appliedAt: new Date() },
      { id: 'e2', model: 'm', state: 'running', champion: '2.0.0', challenger: '2.1.0', appliedAt: null },
    ],
    routing: [{ model: 'm', champion: '2.0.0', challenger: '2.1.0', experimentId: 'e2' }],
    serving: [{ model: 'm', champion: '2.0.0', challenger: '2.1.0' }],
    champions: new Map([['m', '2.0.0']]),
  };
  it('finds nothing in a consistent state', () => {
    expect(inconsistentDecisions(healthy).inconsistentDecisions).toBe(0);
  });
  it('finds a running experiment without routing, a decision not applied and a champion the registry does not have', () => {
    expect(inconsistentDecisions({ ...healthy, serving: [{ model: 'm', champion: '2.0.0' }] }).inconsistentDecisions).toBe(1);
    expect(inconsistentDecisions({ ...healthy, experiments: [{ ...healthy.experiments[0]!, appliedAt: null }, healthy.experiments[1]!] }).inconsistentDecisions).toBe(1);
    expect(inconsistentDecisions({ ...healthy, champions: new Map([['m', '1.0.0']]) }).inconsistentDecisions).toBe(2);
  });
});

describe('danglingVersions', () => {
  it('counts registered versions whose manifest is missing', () => {
    expect(danglingVersions([
      { model: 'm', version: '1.0.0', manifestKey: 'models/m/1.0.0/manifest.json', manifestExists: true },
      { model: 'm', version: '1.1.0', manifestKey: 'models/m/1.1.0/manifest.json', manifestExists: false },
    ]).danglingVersions).toBe(1);
  });
});
