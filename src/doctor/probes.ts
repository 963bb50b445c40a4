import { randomBytes } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import type { RagscopeConfig } from '../config/config';
import { describeRedisTarget, redactUrl } from '../config/config';
import { openSqlClient } from '../db/sql-client';
import { assertRedisReachable, createRedisConnection } from '../queue/connection';
import { inspectRedisTopology } from '../queue/topology';
import { JobRateMeter } from '../queue/job-rate';
import type { DoctorFacts } from './checklist';

async function fetchWithTimeout(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
}

/** A Datadog agent answers /info; a ragscope intake answers /ragscope/traces; anything else is neither. */
async function probeAgent(agentUrl: string): Promise<NonNullable<DoctorFacts['agent']>> {
  try {
    const info = await fetchWithTimeout(`${agentUrl}/info`);
    if (info.ok) {
      const body = (await info.json().catch(() => ({}))) as { version?: string };
      return { kind: 'datadog-agent', detail: `Datadog agent ${body.version ?? ''} at ${agentUrl}`.replace('  ', ' ') };
    }
    const intake = await fetchWithTimeout(`${agentUrl}/ragscope/traces?limit=1`);
    if (intake.ok) return { kind: 'ragscope-intake', detail: `local ragscope intake at ${agentUrl}` };
    return { kind: 'none', detail: `${agentUrl} answers, but neither as a Datadog agent nor as a ragscope intake` };
  } catch (error) {
    return { kind: 'none', detail: `nothing answers at ${agentUrl} (${(error as Error).message}): spans are dropped` };
  }
}

/** One real span in the agent's own format, so "accepted" means the trace path works end to end. */
async function sendTestSpan(agentUrl: string, service: string): Promise<NonNullable<DoctorFacts['testSpan']>> {
  const id = BigInt(`0x${randomBytes(8).toString('hex')}`) & 0x7fffffffffffffffn;
  const payload = encode(
    [[{ trace_id: id, span_id: id, parent_id: 0n, name: 'ragscope.doctor', resource: 'doctor test span', service, type: 'custom', start: BigInt(Date.now()) * 1_000_000n, duration: 1_000_000n, error: 0, meta: {}, metrics: {} }]],
    { useBigInt64: true },
  );
  try {
    const response = await fetchWithTimeout(`${agentUrl}/v0.4/traces`, {
      method: 'PUT',
      headers: { 'content-type': 'application/msgpack', 'X-Datadog-Trace-Count': '1' },
      body: payload,
    });
    return response.ok
      ? { accepted: true, detail: `accepted (trace ${id.toString(16)})` }
      : { accepted: false, detail: `rejected with HTTP ${response.status}` };
  } catch (error) {
    return { accepted: false, detail: `not delivered (${(error as Error).message})` };
  }
}

async function probeRedis(config: RagscopeConfig): Promise<{ redis: NonNullable<DoctorFacts['redis']>; jobsPerHour?: number }> {
  try {
    await assertRedisReachable(config.redis);
  } catch (error) {
    return { redis: { reachable: false, detail: (error as Error).message } };
  }
  const redis = createRedisConnection(config.redis, 'producer');
  redis.on('error', () => undefined);
  try {
    const topology = await inspectRedisTopology(config.redis, redis);
    const version = topology.nodes.find((node) => node.version)?.version ?? '?';
    return {
      redis: { reachable: true, detail: `Redis ${version} at ${describeRedisTarget(config.redis)}`, topology },
      jobsPerHour: await new JobRateMeter(redis, config.queuePrefix).jobsPerHour(),
    };
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

async function probePostgres(config: RagscopeConfig): Promise<NonNullable<DoctorFacts['postgres']>> {
  if (!config.databaseUrl) return { reachable: true, detail: 'embedded PGlite (no DATABASE_URL): nothing to reach' };
  try {
    const sql = await openSqlClient(config);
    const { rows } = await sql.query<{ server_version: string }>('SHOW server_version');
    await sql.close();
    return { reachable: true, detail: `PostgreSQL ${rows[0]?.server_version ?? '?'} at ${redactUrl(config.databaseUrl)}` };
  } catch (error) {
    return { reachable: false, detail: (error as Error).message };
  }
}

export async function gatherDoctorFacts(config: RagscopeConfig): Promise<DoctorFacts> {
  const [agent, testSpan, redisFacts, postgres] = await Promise.all([
    probeAgent(config.agentUrl),
    sendTestSpan(config.agentUrl, config.service),
    probeRedis(config),
    probePostgres(config),
  ]);
  return { config, agent, testSpan, redis: redisFacts.redis, postgres, observedJobsPerHour: redisFacts.jobsPerHour };
}
