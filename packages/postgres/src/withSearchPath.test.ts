import { describe, expect, it } from 'vitest';
import { withSearchPath } from './index.js';

describe('withSearchPath', () => {
  it('points a connection string at a schema and leaves public alone', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/test';
    expect(withSearchPath(url, 'public')).toBe(url);
    expect(new URL(withSearchPath(url, 'fw_ab12')).searchParams.get('options')).toBe('-c search_path=fw_ab12');
  });
});
