import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * An executable the tests need from the machine (Debian packages such as `prometheus`), or
 * undefined. Outside CI a missing tool skips the tests that need it, saying why; under CI=true it
 * fails the test file with how to install it: CI must never go green without running them.
 */
export function requireTool(name: string, installHint: string): string | undefined {
  const directories = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const directory of [...directories, '/usr/bin', '/usr/local/bin']) {
    const candidate = path.join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  const message = `${name} is not installed (${installHint})`;
  if (process.env.CI === 'true') throw new Error(`${message}; .ci/run installs it`);
  console.warn(`skipping the tests that need ${name}: ${message}`);
  return undefined;
}
