import { describe, expect, it } from 'vitest';
import { cleanUpAll } from './cleanUpAll.js';

describe('cleanUpAll', () => {
  it('runs every step in order and resolves when all went through', async () => {
    const ran: string[] = [];
    await cleanUpAll('world left things behind', [['a', () => { ran.push('a'); }], ['b', async () => { ran.push('b'); }]]);
    expect(ran).toEqual(['a', 'b']);
  });

  it('keeps going after a failed step, then names every failure under the title', async () => {
    const ran: string[] = [];
    const done = cleanUpAll('world w1 left things behind', [
      ['stop the services', () => { throw new Error('still running'); }],
      ['drop schema s1', async () => { ran.push('drop'); }],
      ['remove bucket b1', () => Promise.reject(new Error('not empty'))],
    ]);
    await expect(done).rejects.toThrow('world w1 left things behind:\n  stop the services: still running\n  remove bucket b1: not empty');
    expect(ran).toEqual(['drop']);
  });
});
