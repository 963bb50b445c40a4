import { listSettings, type SettingGroup } from './setting';

/**
 * `.env.example`, derived from the settings table: each knob's doc line, then `NAME=default`, or the
 * example commented out when the knob has no default. Pure, so a test can compare it with the file.
 */
export function renderEnvExample(tree: SettingGroup): string {
  const lines = [
    '# ragscope configuration, generated from src/config/settings.ts by `npm run config:env-example`.',
    '# Every variable is optional; the value shown is the default (commented out: unset by default).',
    "# DD_* names are Datadog's own (dd-trace reads them too); RAGSCOPE_* are ragscope's.",
  ];
  for (const setting of listSettings(tree)) {
    if (setting.heading) lines.push('', `# --- ${setting.heading}`);
    lines.push(`# ${setting.doc}`);
    lines.push(setting.default === undefined ? `# ${setting.env}=${setting.example ?? ''}` : `${setting.env}=${setting.default}`);
  }
  return `${lines.join('\n')}\n`;
}
