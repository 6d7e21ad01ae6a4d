import { describe, expect, it } from 'vitest';
import { parsePlatformEnv } from './platformEnv.js';
import { readPeakRss } from './readPeakRss.js';

describe('local-stack helpers', () => {
  it('parses platform.env lines, skipping comments and blanks, keeping = inside values', () => {
    expect(parsePlatformEnv('# c\nKAFKA_BROKERS=127.0.0.1:1,127.0.0.1:2\n\nPOSTGRES_URL=postgres://u@h:5432/db?x=1\n')).toEqual({
      KAFKA_BROKERS: '127.0.0.1:1,127.0.0.1:2', POSTGRES_URL: 'postgres://u@h:5432/db?x=1',
    });
  });

  it('reads resident memory of a live process from /proc, zeros for a gone one', () => {
    const self = readPeakRss(process.pid);
    expect(self.rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(self.hwm).toBeGreaterThanOrEqual(self.rss);
    expect(readPeakRss(2 ** 22 + 12345)).toEqual({ rss: 0, hwm: 0 });
  });
});
