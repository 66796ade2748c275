import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { directoryOfCaller } from '@xrayjs/core';

/**
 * This package's root directory (where `viewer/` and `schema/` are), found by walking up from this
 * file: the same in `src/` (tests), `dist/esm/` and `dist/cjs/`. @internal
 */
export const PACKAGE_ROOT: string = findRoot(directoryOfCaller());

function findRoot(start: string | undefined): string {
  let dir = start ?? process.cwd();
  for (let i = 0; i < 5; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === '@xrayjs/local-daemon') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    dir = dirname(dir);
  }
  throw new Error(`@xrayjs/local-daemon: cannot find the package's own files above ${start ?? '(unknown)'}`);
}
