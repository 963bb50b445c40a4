import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { requireBasicAuth } from './auth';

export const BOARD_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues, in its own encapsulated scope so its basic-auth hook guards every
 * board route and nothing else. Read-only unless RAGSCOPE_BOARD_WRITE=1: retrying or deleting jobs
 * from a browser is a production change.
 */
export async function registerBoard(
  app: FastifyInstance,
  queues: Queue[],
  options: { user: string; password?: string; writable: boolean },
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: !options.writable, allowRetries: options.writable })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ragscope' } },
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', requireBasicAuth(options.user, options.password));
    await scope.register(serverAdapter.registerPlugin() as Parameters<FastifyInstance['register']>[0], { prefix: BOARD_PATH });
  });
}
