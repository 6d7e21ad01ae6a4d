import { isRetriable } from '@flywheel/runtime';

const MAX_REASON = 2_000;

interface ZodLike { name: 'ZodError'; issues: { path: (string | number)[]; message: string }[] }
const isZodError = (err: unknown): err is ZodLike =>
  err instanceof Error && err.name === 'ZodError' && Array.isArray((err as Partial<ZodLike>).issues);

/**
 * Why publishing `err`'s event can never succeed as it is, or undefined when retrying can help.
 * Poison: the topic's schema refused the event (the bus's publish throws the ZodError), a
 * non-retriable FlywheelError (PoisonMessage), or a broker that refuses the record as too large.
 * Everything else (broker unreachable, timeouts, unknown errors) is worth retrying: kafkajs's own
 * `retriable: false` is not trusted here, since it also marks "broker down after N retries".
 */
export const poisonReason = (err: unknown): string | undefined => {
  let reason: string | undefined;
  if (isZodError(err)) {
    reason = `schema refused the event: ${err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
  } else if (err instanceof Error && (err as { type?: unknown }).type === 'MESSAGE_TOO_LARGE') {
    reason = `broker refused the record as too large: ${err.message}`;
  } else if (!isRetriable(err)) {
    reason = `${(err as Error).name}: ${(err as Error).message}`;
  }
  return reason === undefined ? undefined : reason.slice(0, MAX_REASON);
};
