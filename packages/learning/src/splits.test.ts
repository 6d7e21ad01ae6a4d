import { describe, expect, it } from 'vitest';
import type { Example } from './data.js';
import { describeRows, partitionByGroup } from './splits.js';

const rows = (n: number, tag: string): Example[] => Array.from({ length: n }, (_, i) => ({ text: `${tag} text ${i}`, label: `l${i % 3}`, group: `${tag}-${i}` }));

describe('partitionByGroup', () => {
  it('makes four disjoint parts that cover every row, a group never straddling two', () => {
    const all = [...rows(3000, 'a'), ...rows(3000, 'a').map((e) => ({ ...e, text: `${e.text} again` }))];
    const p = partitionByGroup(all, { validation: 0.1, gate: 0.1, test: 0.1, maxRows: 10_000 });
    const where = new Map<string, string>();
    for (const [name, part] of Object.entries(p)) {
      for (const e of part as Example[]) {
        const seen = where.get(e.group as string);
        expect(seen === undefined || seen === name).toBe(true);
        where.set(e.group as string, name);
      }
    }
    expect(p.train.length + p.validation.length + p.gate.length + p.test.length).toBe(all.length);
    for (const part of [p.validation, p.gate, p.test]) expect(part.length / all.length).toBeGreaterThan(0.07);
  });
  it('caps each held set at maxRows, and a row held out once is never trained on as data grows', () => {
    const small = rows(1000, 'x');
    const first = partitionByGroup(small, { maxRows: 50 });
    expect(first.test.length).toBeLessThan(80);
    const grown = partitionByGroup([...small, ...rows(4000, 'y')], { maxRows: 50 });
    // held sets only shrink as data grows: a row trained on before is never judged on later
    const firstTrain = new Set(first.train.map((e) => e.group));
    const laterHeld = [...grown.validation, ...grown.gate, ...grown.test].filter((e) => e.group?.startsWith('x-'));
    expect(laterHeld.length).toBeGreaterThan(0);
    for (const e of laterHeld) expect(firstTrain.has(e.group)).toBe(false);
  });
  it('describes a set by size and an order-independent 48-bit hash', () => {
    const r = rows(20, 'h');
    const d = describeRows(r);
    expect(d.rows).toBe(20);
    expect(Number.isSafeInteger(d.hash)).toBe(true);
    expect(describeRows([...r].reverse()).hash).toBe(d.hash);
    expect(describeRows(r.slice(1)).hash).not.toBe(d.hash);
  });
});
