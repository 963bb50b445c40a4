/** Writes `.env.example` from the settings table (`npm run config:env-example`). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderEnvExample } from '../src/config/env-example';
import { settings } from '../src/config/settings';

const target = path.join(__dirname, '..', '.env.example');
writeFileSync(target, renderEnvExample(settings));
console.log(`wrote ${path.relative(process.cwd(), target) || target}`);
