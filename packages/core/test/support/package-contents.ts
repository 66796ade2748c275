import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** What `npm pack` would put in the tarball of the package in `dir`, and its manifest. */
export function packContents(dir: string): { files: string[]; manifest: Record<string, unknown> } {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8' });
  const [report] = JSON.parse(out) as { files: { path: string }[] }[];
  return { files: report.files.map((f) => f.path).sort(), manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown> };
}

/** Every target of an exports map, flattened. */
export function exportTargets(exportsField: unknown): string[] {
  if (typeof exportsField === 'string') return [exportsField];
  if (typeof exportsField !== 'object' || exportsField === null) return [];
  return Object.values(exportsField).flatMap(exportTargets);
}

/** The `sources` of every source map in the pack that do not resolve to a file of the pack. */
export function unresolvedMapSources(dir: string, files: string[]): string[] {
  const inPack = new Set(files);
  const missing: string[] = [];
  for (const file of files.filter((f) => f.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { sources: string[]; sourceRoot?: string };
    for (const source of map.sources) {
      const resolved = normalize(join(dirname(file), map.sourceRoot ?? '', source));
      if (!inPack.has(resolved)) missing.push(`${file} -> ${source}`);
    }
  }
  return missing;
}

/** The files of the pack under `prefix` whose text contains `needle`. */
export function filesContaining(dir: string, files: string[], prefix: string, needle: string): string[] {
  return files.filter((f) => f.startsWith(prefix) && f.endsWith('.js') && readFileSync(join(dir, f), 'utf8').includes(needle));
}
