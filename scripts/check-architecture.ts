/**
 * The dependency check `npm test` runs (and `npm run check:architecture` alone): dependency-cruiser
 * with .dependency-cruiser.cjs (no upward import, no module cycle), plus no cycle between concern
 * folders, which dependency-cruiser's own folder rules cannot say here (they count `src/` itself as
 * a folder, so every import of src/log.ts would close a "cycle" through the CLI).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const CRUISED = ['src', 'workers', 'bench', 'scripts'];

interface CruiseResult {
  modules: { source: string; dependencies: { resolved: string; coreModule: boolean; couldNotResolve: boolean }[] }[];
  summary: { violations: { from: string; to: string; rule: { name: string; severity: string }; cycle?: unknown[] }[] };
}

/** The folder a module belongs to for the cycle rule: `src/<folder>`, a root file of src/, or a top folder. */
export function concernOf(modulePath: string): string | undefined {
  const parts = modulePath.split('/');
  if (!CRUISED.includes(parts[0]!)) return undefined;
  if (parts[0] === 'src' && parts.length > 2) return `src/${parts[1]}`;
  return parts[0] === 'src' ? modulePath : parts[0];
}

/** Groups of concerns that import each other (strongly connected components of more than one), Tarjan. */
export function folderCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of edges.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles;
}

/** One line per problem; empty when the layering holds. */
export async function checkArchitecture(root: string): Promise<string[]> {
  const bin = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [bin, ...CRUISED, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
    { cwd: root, maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { stdout?: string }) => {
    // dependency-cruiser exits non-zero when a rule fails; its JSON report is still on stdout.
    if (error.stdout) return { stdout: error.stdout };
    throw error;
  });
  const result = JSON.parse(stdout) as CruiseResult;
  const problems = result.summary.violations
    .filter((violation) => violation.rule.severity === 'error')
    .map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`);

  const edges = new Map<string, Set<string>>();
  const example = new Map<string, string>();
  for (const module of result.modules) {
    const from = concernOf(module.source);
    if (!from) continue;
    for (const dependency of module.dependencies) {
      if (dependency.coreModule || dependency.couldNotResolve) continue;
      const to = concernOf(dependency.resolved);
      if (!to || to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      if (!example.has(`${from}|${to}`)) example.set(`${from}|${to}`, `${module.source} → ${dependency.resolved}`);
    }
  }
  for (const cycle of folderCycles(edges)) {
    const imports = cycle.flatMap((from) => cycle.map((to) => example.get(`${from}|${to}`)).filter(Boolean));
    problems.push(`no-cycle-between-folders: ${cycle.join(', ')} import each other (${imports.join('; ')})`);
  }
  return problems;
}

if (require.main === module) {
  checkArchitecture(path.join(__dirname, '..')).then(
    (problems) => {
      for (const problem of problems) console.error(`error ${problem}`);
      console.log(problems.length === 0 ? 'architecture: every import goes down or sideways, no folder cycle' : `${problems.length} architecture violation(s); see ARCHITECTURE.md`);
      process.exitCode = problems.length === 0 ? 0 : 1;
    },
    (error: unknown) => {
      console.error(`error: ${(error as Error).message}`);
      process.exitCode = 1;
    },
  );
}
