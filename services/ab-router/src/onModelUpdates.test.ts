import { describe, expect, it } from 'vitest';
import { FLYWHEEL_SOURCES, makeEvent, ModelVersion, type DataOf } from '@flywheel/contracts';
import { onModelUpdates } from './onModelUpdates.js';

const event = (data: DataOf<'modelUpdates'>) => makeEvent('modelUpdates', { source: FLYWHEEL_SOURCES.trainer, subject: 'm', data });
const registered = event({ action: 'challenger_registered', version: ModelVersion.parse('1.0.1'), artifact: { bucket: 'b', prefix: 'p/', manifestKey: 'p/manifest.json', sha256: 'a'.repeat(64) }, metrics: {} });

const fakes = () => {
  const calls: string[] = [];
  return {
    calls,
    experiments: {
      running: async () => ({ id: 'e1', challengerVersion: '1.0.1' }) as never,
      start: async (m: string, v: string) => calls.push(`start ${m}@${v}`),
      stop: async (id: string) => calls.push(`stop ${id}`),
    },
    champions: { current: async () => '1.0.0', adopt: async (m: string, v: string) => { calls.push(`adopt ${m}@${v}`); } },
  };
};

describe('onModelUpdates and leadership', () => {
  it('starts an experiment only on the leader; a follower leaves the registration to the leader reconcile', async () => {
    const leader = fakes();
    await onModelUpdates({ ...leader, isLeader: () => true })(registered);
    expect(leader.calls).toEqual(['start m@1.0.1']);
    const follower = fakes();
    await onModelUpdates({ ...follower, isLeader: () => false })(registered);
    expect(follower.calls).toEqual([]);
  });

  it('lets a follower adopt an announced champion and stop the experiment of a challenger rejected elsewhere (both converge)', async () => {
    const follower = fakes();
    const handle = onModelUpdates({ ...follower, isLeader: () => false });
    await handle(event({ action: 'promoted', version: ModelVersion.parse('1.0.2'), reason: 'r' }));
    await handle(event({ action: 'rejected', version: ModelVersion.parse('1.0.1'), reason: 'r' }));
    expect(follower.calls).toEqual(['adopt m@1.0.2', 'stop e1']);
  });
});
