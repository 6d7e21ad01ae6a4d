import { describe, expect, it } from 'vitest';
import { formatTable } from './formatTable.js';

describe('formatTable', () => {
  it('aligns columns to the widest cell', () => {
    expect(formatTable(['a', 'bb'], [['xxx', 'y']])).toBe('a    bb\n---  --\nxxx  y');
  });
  it('says (none) for no rows', () => {
    expect(formatTable(['a'], [])).toBe('(none)');
  });
});
