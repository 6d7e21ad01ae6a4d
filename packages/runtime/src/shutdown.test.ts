import { describe, expect, it } from 'vitest';
import { createLogger, createShutdown } from './index.js';

describe('createShutdown', () => {
  it('closes in reverse registration order and survives a failing closer', async () => {
    const order: string[] = [];
    const s = createShutdown(createLogger({ service: 't', level: 'silent' }));
    s.onShutdown(() => { order.push('pool'); }, () => { order.push('consumer'); throw new Error('boom'); });
    s.onShutdown(async () => { order.push('http'); });
    await s.close('test');
    await s.close('again');
    expect(order).toEqual(['http', 'consumer', 'pool']);
  });
});
