/**
 * ragscope's compiled build (`dist/`), the code `ragscope worker` runs. Benches that time ragscope's
 * own code load it from here, never from `src/` through tsx: tsx's esbuild output wraps functions
 * in `__name(...)` calls (keepNames) that redefine each closure's name as it is created, and in a
 * CPU profile of queue-throughput those calls and tsx's loader showed on the job path, costs the
 * real worker does not have. Modules are typed from the sources, so type-checking needs no build.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'src');

/** Source files newer than their compiled output (or without one): a bench would time old code. */
export function staleSources(sourceDir = path.join(ROOT, 'src'), buildDir = DIST): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const built = path.join(buildDir, path.relative(sourceDir, file)).replace(/\.ts$/, '.js');
        if (!existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs) stale.push(path.relative(ROOT, file));
      }
    }
  };
  walk(sourceDir);
  return stale;
}

let checked = false;

/**
 * A module of the build, by its path under src/ without extension (`worker/runtime`). Exits with a
 * message, not a stack, when the build is missing or older than the sources.
 */
export function requireBuilt<T>(module: string): T {
  if (!checked) {
    checked = true;
    const stale = existsSync(DIST) ? staleSources() : ['(no build)'];
    if (stale.length > 0) {
      process.stderr.write(`the build in dist/ is missing or older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}: run \`npm run build\` first\n`);
      process.exit(1);
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(DIST, module)) as T;
}
