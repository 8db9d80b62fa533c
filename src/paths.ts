import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder holding package.json, whether running from `src/` (tests) or `dist/src/` (built). */
function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${start}`);
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot(__dirname);
export const conformanceDir = join(projectRoot, 'conformance');
export const profilesDir = join(projectRoot, 'profiles');
/** Files the server serves as they are (the privacy page: HTML, one script module, one stylesheet). */
export const webDir = join(projectRoot, 'web');
