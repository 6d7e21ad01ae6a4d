import { describe, expect, it } from 'vitest';
import { Invalid } from '@flywheel/runtime';
import { ClientName, hasScope, parseScopes } from './client.js';

describe('parseScopes', () => {
  it('reads a comma list, trims, drops duplicates and keeps the canonical order', () => {
    expect(parseScopes(' feedback,predict ,feedback')).toEqual(['predict', 'feedback']);
    expect(parseScopes('admin')).toEqual(['admin']);
  });

  it('refuses an empty list and names unknown scopes', () => {
    expect(() => parseScopes(' , ')).toThrow(Invalid);
    expect(() => parseScopes('predict,write,root')).toThrow(/unknown scope "write", "root"; scopes are predict, feedback, admin/);
  });
});

describe('ClientName', () => {
  it('accepts lowercase names and refuses the built-in admin, control characters and odd shapes', () => {
    expect(ClientName.parse('web-app.prod_1')).toBe('web-app.prod_1');
    for (const bad of ['admin', '', 'Web', '1app', 'a\u0000b', 'a b', 'x'.repeat(64)]) expect(ClientName.safeParse(bad).success, bad).toBe(false);
  });
});

describe('hasScope', () => {
  it('is explicit: admin does not imply predict', () => {
    const c = { name: 'ops', scopes: ['admin'] as const, trust: 'trusted' as const, keyId: 'fwk_x' };
    expect(hasScope(c, 'admin')).toBe(true);
    expect(hasScope(c, 'predict')).toBe(false);
  });
});
