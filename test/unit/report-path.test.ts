import { describe, expect, it } from 'vitest';
import { reportPath } from '../../src/telemetry/profiling/report-path';

const ROOT = '/home/ci/checkouts/ragscope';

describe('reportPath', () => {
  it.each([
    [`${ROOT}/src/pipeline/rerank.ts`, 'src/pipeline/rerank.ts'],
    [`file://${ROOT}/src/pipeline/rerank.ts`, 'src/pipeline/rerank.ts'],
    [`${ROOT}/dist/src/pipeline/rerank.js`, 'dist/src/pipeline/rerank.js'],
    [`${ROOT}/node_modules/pg/lib/client.js`, 'node_modules/pg/lib/client.js'],
    [`${ROOT}/node_modules/@datadog/pprof/out/src/index.js`, 'node_modules/@datadog/pprof/out/src/index.js'],
    [`${ROOT}/node_modules/a/node_modules/b/index.js`, 'node_modules/b/index.js'],
    ['/usr/lib/node_modules/npm/lib/cli.js', 'node_modules/npm/lib/cli.js'],
    ['/opt/ragscope-elsewhere/x.js', '/opt/ragscope-elsewhere/x.js'],
    [`${ROOT}-other/src/x.ts`, `${ROOT}-other/src/x.ts`],
    ['node:internal/process/task_queues', 'node:internal/process/task_queues'],
    ['', ''],
  ])('%s → %s', (file, reported) => {
    expect(reportPath(file, ROOT)).toBe(reported);
  });

  it('an installed ragscope reports its own files from its package root', () => {
    const installed = '/srv/app/node_modules/ragscope';
    expect(reportPath(`${installed}/src/pipeline/rerank.ts`, installed)).toBe('src/pipeline/rerank.ts');
  });
});
