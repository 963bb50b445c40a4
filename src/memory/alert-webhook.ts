import type { Logger } from 'pino';

const ATTEMPTS = 4;
const FIRST_RETRY_MS = 1000;

/**
 * POSTs a verdict change to RAGSCOPE_ALERT_URL. Delivery is retried with backoff and never throws:
 * an unreachable alert receiver must not stop the scheduler from sampling and judging.
 */
export async function postAlert(url: string, payload: unknown, logger: Logger, sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))): Promise<boolean> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(5000),
      });
      if (response.ok) return true;
      logger.warn({ attempt, status: response.status }, 'alert webhook answered with an error');
    } catch (error) {
      logger.warn({ attempt, err: (error as Error).message }, 'alert webhook unreachable');
    }
    if (attempt < ATTEMPTS) await sleep(FIRST_RETRY_MS * 2 ** (attempt - 1));
  }
  logger.error({ attempts: ATTEMPTS }, 'alert webhook delivery gave up');
  return false;
}
