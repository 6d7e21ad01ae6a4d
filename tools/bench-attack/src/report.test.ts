import { describe, expect, it } from 'vitest';
import { renderTable, summarize, type AttackResult } from './report.js';

const results: AttackResult[] = [
  { attack: 'forged outcomes', sent: 1000, observed: '0 counted', succeeded: false, forgedOutcomesCounted: 0 },
  { attack: 'no key', sent: 14, observed: '401×13 200×1', succeeded: true, unauthenticated2xx: 1 },
  { attack: 'flood', sent: 240, observed: '429×180', succeeded: false, rateLimited429: 180 },
];

describe('summarize', () => {
  it('counts attacks tried and those that got anywhere, and adds up the counters', () => {
    expect(summarize(results)).toEqual({
      attacks: 3, succeeded: 1, forgedOutcomesCounted: 0, poisonedLabelsTrainable: 0, stalledPartitions: 0, unauthenticated2xx: 1, rateLimited429: 180,
    });
  });

  it('reports nothing tried as zero everywhere', () => {
    expect(summarize([])).toEqual({ attacks: 0, succeeded: 0, forgedOutcomesCounted: 0, poisonedLabelsTrainable: 0, stalledPartitions: 0, unauthenticated2xx: 0, rateLimited429: 0 });
  });
});

describe('renderTable', () => {
  it('prints a header, a rule and one aligned row per attack, naming the ones that succeeded', () => {
    const lines = renderTable(results);
    expect(lines).toHaveLength(5);
    expect(lines[0]?.indexOf('sent')).toBe(lines[2]?.indexOf('1000'));
    expect(lines[3]).toContain('SUCCEEDED');
    expect(lines[2]).toContain('stopped');
  });
});
