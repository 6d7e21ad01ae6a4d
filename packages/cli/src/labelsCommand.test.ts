import { describe, expect, it } from 'vitest';
import { UsageError } from './cliErrors.js';
import { labelsCommand } from './labelsCommand.js';
import type { CallOptions } from './serviceClient.js';

const proposed = { label: 'spaceships', firstSeen: '2025-01-01T00:00:00.000Z', lastSeen: '2025-01-01T00:00:00.000Z', reports: 6, pendingItems: 6, reporters: [{ client: 'enduser', trust: 'standard' }], acceptedAt: null, acceptedBy: null };

const fake = (answer: unknown) => {
  const calls: { method: string; path: string; opts: CallOptions | undefined }[] = [];
  const lines: string[] = [];
  return { calls, lines, deps: { feedback: async (method: string, path: string, opts?: CallOptions) => { calls.push({ method, path, opts }); return answer; }, print: (l: string) => { lines.push(l); } } };
};

describe('flywheel labels', () => {
  it('lists a model\'s proposed labels through the admin route', async () => {
    const f = fake({ model: 'm', labels: [proposed] });
    await labelsCommand(f.deps, ['list', 'm']);
    expect(f.calls).toEqual([{ method: 'GET', path: '/v1/admin/models/m/labels', opts: { admin: true } }]);
    expect(f.lines.join('\n')).toMatch(/spaceships.*proposed.*6.*enduser \(standard\)/);
  });
  it('accepts one label', async () => {
    const f = fake({ ...proposed, acceptedAt: '2025-01-02T00:00:00.000Z', acceptedBy: 'admin', pendingItems: 0 });
    await labelsCommand(f.deps, ['accept', 'm', 'spaceships']);
    expect(f.calls[0]).toMatchObject({ method: 'POST', path: '/v1/admin/models/m/labels/spaceships/accept' });
    expect(f.lines[0]).toMatch(/label spaceships accepted for m by admin/);
  });
  it('refuses a missing subcommand, model or label as usage errors', async () => {
    const f = fake({});
    await expect(labelsCommand(f.deps, [])).rejects.toBeInstanceOf(UsageError);
    await expect(labelsCommand(f.deps, ['list'])).rejects.toBeInstanceOf(UsageError);
    await expect(labelsCommand(f.deps, ['accept', 'm'])).rejects.toBeInstanceOf(UsageError);
    await expect(labelsCommand(f.deps, ['accept', 'm', 'a\u0000b'])).rejects.toBeInstanceOf(UsageError);
    expect(f.calls).toEqual([]);
  });
});
