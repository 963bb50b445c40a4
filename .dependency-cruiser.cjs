/**
 * ragscope's layer rules (ARCHITECTURE.md draws them): imports go down or sideways, never up, and no
 * module cycle. `npm run check:architecture` (scripts/check-architecture.ts) runs these rules and adds
 * the one dependency-cruiser cannot say for this layout: no two concern folders (src/<folder>/,
 * workers/) import each other, even without a module cycle. `npm test` runs the same check.
 *
 * Adding a folder under src/: give it a layer below, and a line in ARCHITECTURE.md.
 */

/** Lowest first. A module may import its own layer and the layers below it. */
const LAYERS = [
  { name: 'contracts', paths: ['src/contracts/'] },
  { name: 'config and the root files', paths: ['src/config/', 'src/random\\.ts$', 'src/package-info\\.ts$', 'src/log\\.ts$'] },
  { name: 'db, telemetry', paths: ['src/db/', 'src/telemetry/'] },
  { name: 'queue', paths: ['src/queue/'] },
  // The SQL-plan analysis is a library the pipeline's store calls: it never needs the pipeline back.
  { name: 'sql-plans', paths: ['src/sql-plans/'] },
  { name: 'pipeline, memory', paths: ['src/pipeline/', 'src/memory/'] },
  { name: 'worker, server, doctor', paths: ['src/worker/', 'src/server/', 'src/doctor/'] },
  // src/index.ts is the package's library entry point: it re-exports from the layers below.
  { name: 'entry points', paths: ['src/cli/', 'workers/', 'src/index\\.ts$'] },
];

const anchored = (paths) => paths.map((path) => `^${path}`);
const everyLayerPath = LAYERS.flatMap((layer) => anchored(layer.paths));

const upwardRules = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `no-upward-import-from-${layer.name.replace(/[^a-z]+/g, '-')}`,
  severity: 'error',
  comment: `${layer.name} may import only its own layer and the ones below (ARCHITECTURE.md)`,
  from: { path: anchored(layer.paths) },
  to: { path: LAYERS.slice(index + 1).flatMap((above) => anchored(above.paths)) },
}));

module.exports = {
  forbidden: [
    ...upwardRules,
    {
      name: 'contracts-import-nothing-of-ours',
      severity: 'error',
      comment: 'src/contracts/ is the floor: everything may import it, it imports no other ragscope module',
      from: { path: '^src/contracts/' },
      to: { path: '^(src|workers|bench|scripts|test)/', pathNot: '^src/contracts/' },
    },
    {
      name: 'every-src-module-has-a-layer',
      severity: 'error',
      comment: 'a new folder under src/ needs a layer in .dependency-cruiser.cjs and a line in ARCHITECTURE.md',
      from: { path: '^src/', pathNot: everyLayerPath },
      to: {},
    },
    {
      name: 'product-code-never-imports-tests-bench-or-scripts',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'no-cycle-between-modules',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules', '^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a layer that needs another's types depends on it all the same.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
