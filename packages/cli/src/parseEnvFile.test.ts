import { describe, expect, it } from 'vitest';
import { parseEnvFile } from './parseEnvFile.js';

describe('parseEnvFile', () => {
  it('reads KEY=value lines, skipping comments and unquoting values', () => {
    expect(parseEnvFile('# c\nA=1\nexport B="x=y"\n\nbad\n')).toEqual({ A: '1', B: 'x=y' });
  });
});
