import { createHash } from 'node:crypto';

/**
 * User ids are personal data: with RAGSCOPE_REDACT=1 spans carry a stable hash instead, so a
 * user's jobs can still be grouped without the id leaving the process.
 */
export function userIdTag(userId: string, redact: boolean): string {
  return redact ? `sha256:${createHash('sha256').update(userId).digest('hex').slice(0, 16)}` : userId;
}
