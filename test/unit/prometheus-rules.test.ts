import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireTool } from '../helpers/tools';

const RULES_DIR = path.join(__dirname, '../../deploy/prometheus');
const PROMTOOL = requireTool('promtool', "Debian's prometheus package: apt-get install prometheus");

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string }> }>;
}
interface RuleTests {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
}

const rules = parse(readFileSync(path.join(RULES_DIR, 'alerts.yml'), 'utf8')) as RuleFile;
const ruleTests = parse(readFileSync(path.join(RULES_DIR, 'alerts.test.yml'), 'utf8')) as RuleTests;
const alertNames = rules.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])));

describe.skipIf(!PROMTOOL)('deploy/prometheus/alerts.yml', () => {
  it('is valid Prometheus rules (promtool check rules)', () => {
    const output = execFileSync(PROMTOOL!, ['check', 'rules', path.join(RULES_DIR, 'alerts.yml')], { encoding: 'utf8' });
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('is loaded by a valid Prometheus configuration, the one docker-compose\u2019s oss profile uses (promtool check config)', () => {
    const output = execFileSync(PROMTOOL!, ['check', 'config', path.join(RULES_DIR, 'prometheus.yml')], { encoding: 'utf8' });
    expect(output).toMatch(/SUCCESS: 1 rule files found/);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes its unit tests (promtool test rules alerts.test.yml)', () => {
    const run = spawnSync(PROMTOOL!, ['test', 'rules', 'alerts.test.yml'], { cwd: RULES_DIR, encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`).toMatch(/SUCCESS/);
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it('has, for every alert, a test where it fires and one where it must stay quiet', () => {
    const cases = ruleTests.tests.flatMap((test) => test.alert_rule_test ?? []);
    expect(alertNames.length).toBeGreaterThanOrEqual(6);
    for (const alert of alertNames) {
      const own = cases.filter((testCase) => testCase.alertname === alert);
      expect(own.some((testCase) => testCase.exp_alerts.length > 0), `${alert} fires in a test`).toBe(true);
      expect(own.some((testCase) => testCase.exp_alerts.length === 0), `${alert} stays quiet in a test`).toBe(true);
    }
  });

  it('alerts on what the issue asks: leak, failure ratio, backlog, p95 > 3 s, no worker, trace cost', () => {
    expect(alertNames).toEqual(
      expect.arrayContaining([
        'RagscopeLeakSuspected',
        'RagscopeJobFailureRatioHigh',
        'RagscopeQueueBacklogGrowing',
        'RagscopeJobP95Above3s',
        'RagscopeNoWorkerSeen',
        'RagscopeTraceCostOverBudget',
      ]),
    );
  });
});
