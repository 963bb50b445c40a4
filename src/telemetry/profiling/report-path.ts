import path from 'node:path';

/**
 * A profile frame's file as ragscope reports it: relative to the project root
 * (`src/pipeline/rerank.ts`), a dependency as `node_modules/<package>/...` wherever it is installed,
 * anything else (Node's own `node:internal/...`, an empty name) unchanged. Absolute paths would
 * differ per checkout and tell anyone who reads a result how the host's disk is laid out.
 */
export function reportPath(file: string, projectRoot: string): string {
  const absolute = file.startsWith('file://') ? decodeURIComponent(file.slice('file://'.length)) : file;
  if (!path.isAbsolute(absolute)) return file;
  const relative = path.relative(projectRoot, absolute);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const segments = (inside ? relative : absolute).split(/[\\/]/);
  // The innermost node_modules: the package that owns the file, however deeply it is nested.
  const dependencyAt = segments.lastIndexOf('node_modules');
  if (dependencyAt >= 0) return segments.slice(dependencyAt).join('/');
  return inside ? segments.join('/') : file;
}
