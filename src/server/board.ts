import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPossibleJobId } from '../queue/job-ids';
import type { ServiceUnavailableError } from '../contracts/errors';
import type { RagscopeProducer } from '../queue/producer';
import { requireBasicAuth } from './auth';
import { replyUnavailable } from './availability';

export const BOARD_PATH = '/admin/queues';

/** Paging bounds for the board's job lists: beyond them Redis gets indexes it cannot take (a Lua error). */
export const BOARD_PAGING = { maxPage: 100_000, maxJobsPerPage: 1000 } as const;

/**
 * Bull Board at /admin/queues, in its own encapsulated scope so its basic-auth hook guards every
 * board route and nothing else. Read-only unless RAGSCOPE_BOARD_WRITE=1: retrying or deleting jobs
 * from a browser is a production change.
 */
export async function registerBoard(
  app: FastifyInstance,
  queues: Queue[],
  options: { user: string; password?: string; writable: boolean; producer: Pick<RagscopeProducer, 'assertAvailable'> },
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: !options.writable, allowRetries: options.writable })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ragscope' } },
  });
  // The board's own handler answers 500 with the raw message (Redis and Lua details included).
  serverAdapter.setErrorHandler(() => ({ status: 500, body: { error: 'internal error' } }));
  await app.register(async (scope) => {
    scope.addHook('onRequest', requireBasicAuth(options.user, options.password));
    scope.addHook('onRequest', boardInputGuard);
    // The board's API reads Redis; its page and assets do not, so they stay up during an outage.
    // Answered here: an error thrown would reach the board's own error handler, which knows no 503.
    scope.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith(`${BOARD_PATH}/api/`)) return;
      try {
        options.producer.assertAvailable();
      } catch (error) {
        await replyUnavailable(reply, error as ServiceUnavailableError);
      }
    });
    await scope.register(serverAdapter.registerPlugin() as Parameters<FastifyInstance['register']>[0], { prefix: BOARD_PATH });
  });
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
/** Query parameters the board URL-decodes a second time: a stray `%` there throws (a 500). */
const DECODED_AGAIN = new Set(['activeQueue', 'queueName']);

/** Why a query value is refused, or undefined: control characters (a NUL breaks the board's JSON parsing) and undecodable text. */
function badQueryValue(name: string, value: string): string | undefined {
  if (CONTROL_CHARACTERS.test(name)) return 'a query parameter name has control characters';
  if (CONTROL_CHARACTERS.test(value)) return `${name}: control characters are not allowed`;
  if (DECODED_AGAIN.has(name)) {
    try {
      decodeURIComponent(value);
    } catch {
      return `${name}: not valid URL-encoded text`;
    }
  }
  return undefined;
}

/**
 * User input the board would hand to Redis or to its own parsing unchecked: a job id that is one
 * of BullMQ's own keys (WRONGTYPE), paging beyond what LRANGE takes, query values with control
 * characters or broken escapes (found by fuzzing: each was a 500). Ids are answered 404 like GET
 * /jobs/:id, bad values 400; paging is clamped, since the board's UI builds those numbers itself.
 */
async function boardInputGuard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { jobId } = (request.params ?? {}) as { jobId?: string };
  if (jobId !== undefined && !isPossibleJobId(jobId)) {
    await reply.code(404).send({ error: `no job ${jobId.slice(0, 200)}` });
    return;
  }
  const query = request.query as Record<string, unknown> | undefined;
  if (!query) return;
  for (const [name, raw] of Object.entries(query)) {
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      const problem = typeof value === 'string' ? badQueryValue(name, value) : undefined;
      if (problem) {
        await reply.code(400).send({ error: problem.slice(0, 200) });
        return;
      }
    }
  }
  for (const [name, max] of [['page', BOARD_PAGING.maxPage], ['jobsPerPage', BOARD_PAGING.maxJobsPerPage]] as const) {
    // Numbers in any form the board accepts (`1e30` too); what is not a number stays for the board's own 400.
    const value = typeof query[name] === 'string' ? Number(query[name]) : Number.NaN;
    if (Number.isFinite(value) && value > max) query[name] = String(max);
  }
}
