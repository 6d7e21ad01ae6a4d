import { partitionByGroup } from '@flywheel/learning';
import { describe, expect, it } from 'vitest';
import { keepOutOfHeldOut, trainSideGroup } from './keepOutOfHeldOut.js';
import type { TrainingRow } from './TrainingRow.js';

const rows = (trust: TrainingRow['trust'], n: number): TrainingRow[] =>
  Array.from({ length: n }, (_, i) => ({ text: `${trust} text ${i}`, label: i % 2 ? 'a' : 'b', source: 'human_correction', group: `feedback:${trust}-${i}`, trust }));

describe('keepOutOfHeldOut: standard clients never feed the judges', () => {
  const trusted = rows('trusted', 400);
  const standard = rows('standard', 400);
  const examples = keepOutOfHeldOut([...trusted, ...standard]);
  const standardTexts = new Set(standard.map((r) => r.text));

  it.each([
    ['the trainer default', { validation: 0.1, gate: 0.1, test: 0.1, maxRows: 500 }],
    ['the largest held-out shares learning allows', { validation: 0.3, gate: 0.3, test: 0.3, maxRows: 100_000 }],
  ])('puts every standard row on the train side (%s), and still trains on all of them', (_, split) => {
    const s = partitionByGroup(examples, split);
    for (const held of [s.validation, s.gate, s.test]) expect(held.filter((e) => standardTexts.has(e.text))).toEqual([]);
    expect(s.train.filter((e) => standardTexts.has(e.text))).toHaveLength(standard.length);
    // Trusted rows are still held out as before: the judges have data.
    expect(s.gate.length).toBeGreaterThan(0);
    expect(s.gate.every((e) => !standardTexts.has(e.text))).toBe(true);
  });

  it('keeps trusted rows as they are and re-keys standard ones deterministically (the stored snapshot splits the same way next run)', () => {
    expect(examples.slice(0, trusted.length).map((e) => e.group)).toEqual(trusted.map((r) => r.group));
    const again = keepOutOfHeldOut(standard);
    expect(again.map((e) => e.group)).toEqual(examples.slice(trusted.length).map((e) => e.group));
    expect(trainSideGroup('feedback:x')).toMatch(/^feedback:x#train\d+$/);
    expect(examples.every((e) => e.source === 'human_correction' && !('trust' in e))).toBe(true);
  });
});
