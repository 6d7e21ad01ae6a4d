import type { EventOf } from '@flywheel/contracts';
import type { ModelUpdated } from '@flywheel/contracts';

/** What the handler needs from the model host. */
export interface UpdateTarget {
  apply(model: string, update: ModelUpdated, receivedAt?: number): Promise<void>;
  knows(model: string): boolean;
}

/**
 * Handles `model-updates`: loads what the update names and swaps, resolving only once the new
 * state serves, so the offset commits for work done. With `followAll` false, updates of models
 * this replica does not serve are skipped.
 */
export const onModelUpdate = (deps: { host: UpdateTarget; followAll: boolean }) =>
  async (event: EventOf<'modelUpdates'>): Promise<void> => {
    const receivedAt = performance.now();
    if (!deps.followAll && !deps.host.knows(event.subject)) return;
    await deps.host.apply(event.subject, event.data, receivedAt);
  };
