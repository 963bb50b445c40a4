/**
 * Which strings can name a BullMQ job, so a reader never mistakes one of BullMQ's own keys for a
 * job. BullMQ keeps a job as the hash `<prefix>:<queue>:<id>` beside keys of the same shape (`id`,
 * `meta`, `events`, `completed`, …) and the job's side keys (`<id>:logs`, `<id>:lock`). Its ids are
 * the queue's counter (digits) or a custom id that is not an integer and has no `:`, except the
 * ids of scheduled jobs (`repeat:<scheduler id>:<millis>`).
 */

/** The documented pattern of the HTTP API's job ids: what a client may send. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9:_-]{1,128}$/;
export const MAX_JOB_ID_LENGTH = 128;

/** Names BullMQ (6.x) gives the queue's own keys; none of them is ever a job. */
export const BULLMQ_QUEUE_KEY_NAMES: ReadonlySet<string> = new Set([
  'id',
  'meta',
  'events',
  'wait',
  'paused',
  'active',
  'delayed',
  'prioritized',
  'completed',
  'failed',
  'stalled',
  'stalled-check',
  'limiter',
  'marker',
  'pc',
  'repeat',
  'de',
  'metrics',
]);

/** Whether `id` can name a job of a BullMQ queue; anything else is answered "no such job" without asking Redis. */
export function isPossibleJobId(id: string): boolean {
  if (!JOB_ID_PATTERN.test(id) || BULLMQ_QUEUE_KEY_NAMES.has(id)) return false;
  const parts = id.split(':');
  if (parts.length === 1) return true;
  // A scheduled job: repeat:<scheduler id>:<millis>. Side keys (`7:logs`), the scheduler's own hash
  // (`repeat:<id>`) and metrics lists (`metrics:completed:data`) have other shapes.
  return parts.length >= 3 && parts[0] === 'repeat' && parts.slice(1, -1).join(':').length > 0 && /^\d+$/.test(parts.at(-1)!);
}
