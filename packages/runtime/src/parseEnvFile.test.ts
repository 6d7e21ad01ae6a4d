import { describe, expect, it } from 'vitest';
import { parseEnvFile } from './parseEnvFile.js';

describe('parseEnvFile', () => {
  it('reads KEY=value lines, skipping comments and unquoting values', () => {
    expect(parseEnvFile('# c\nA=1\nexport B="x=y"\n\nbad\n')).toEqual({ A: '1', B: 'x=y' });
  });

  it('parses platform.env lines, skipping comments and blanks, keeping = inside values', () => {
    expect(parseEnvFile('# c\nKAFKA_BROKERS=127.0.0.1:1,127.0.0.1:2\n\nPOSTGRES_URL=postgres://u@h:5432/db?x=1\n')).toEqual({
      KAFKA_BROKERS: '127.0.0.1:1,127.0.0.1:2', POSTGRES_URL: 'postgres://u@h:5432/db?x=1',
    });
  });
});
