import { z } from 'zod';
import { Label } from '@flywheel/contracts';
import { need } from './cliArgs.js';
import { UsageError } from './cliErrors.js';
import { formatTable } from './formatTable.js';
import type { ServiceCall } from './serviceClient.js';

const Proposed = z.object({
  label: z.string(), firstSeen: z.string(), reports: z.number(), pendingItems: z.number(),
  reporters: z.array(z.object({ client: z.string(), trust: z.string() })), acceptedAt: z.string().nullable(), acceptedBy: z.string().nullable(),
}).passthrough();
const Listing = z.object({ model: z.string(), labels: z.array(Proposed) });

/**
 * `flywheel labels list MODEL` and `flywheel labels accept MODEL LABEL`: label governance through
 * feedback-ingest's admin routes (FEEDBACK_URL, ADMIN_TOKEN). A correction naming a label the
 * champion does not know waits as a proposal until accepted; accepting makes its items trainable.
 */
export const labelsCommand = async (d: { feedback: ServiceCall; print: (l: string) => void }, args: readonly string[]): Promise<void> => {
  const [sub, model, label, ...extra] = args;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (sub === undefined) throw new UsageError('missing labels subcommand: list or accept');
  const path = `/v1/admin/models/${encodeURIComponent(need(model, 'MODEL'))}/labels`;
  switch (sub) {
    case 'list': {
      if (label !== undefined) throw new UsageError(`unexpected argument "${label}"`);
      const r = Listing.parse(await d.feedback('GET', path, { admin: true }));
      if (r.labels.length === 0) {
        d.print(`no proposed labels for ${r.model}`);
        return;
      }
      d.print(formatTable(['label', 'status', 'reports', 'waiting items', 'reporters', 'first seen'], r.labels.map((l) => [
        l.label, l.acceptedAt ? `accepted by ${l.acceptedBy ?? '?'}` : 'proposed', String(l.reports), String(l.pendingItems),
        l.reporters.map((x) => `${x.client} (${x.trust})`).join(', '), l.firstSeen,
      ])));
      return;
    }
    case 'accept': {
      const parsed = Label.safeParse(need(label, 'LABEL'));
      if (!parsed.success) throw new UsageError(`"${label}" is not a valid label: ${parsed.error.issues[0]?.message ?? 'bad label'}`);
      const r = Proposed.parse(await d.feedback('POST', `${path}/${encodeURIComponent(parsed.data)}/accept`, { admin: true }));
      d.print(`label ${r.label} accepted for ${model} by ${r.acceptedBy ?? '?'}: its ${r.reports} reported item(s) are now trainable and count toward retraining`);
      return;
    }
    default:
      throw new UsageError(`unknown labels subcommand "${sub}": list or accept`);
  }
};
