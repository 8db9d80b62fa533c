import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The npm package of the official FHIR R4 definitions and examples (CC0-1.0). */
export const SPEC_PACKAGE = 'hl7.fhir.r4.examples@4.0.1';

/** Read access to the extracted spec package: one JSON resource per file. */
export interface SpecPackage {
  readonly dir: string;
  /** File names (not paths), sorted, optionally those starting with `prefix`. */
  files(prefix?: string): string[];
  read<T = Record<string, unknown>>(file: string): T;
  /** Removes the download, if this package was downloaded. */
  close(): void;
}

/**
 * Uses `dir` when given (an already extracted `package/` folder), otherwise
 * fetches the package tarball with `npm pack` into a temporary folder and
 * extracts it with `tar`: the registry client verifies the integrity for us.
 */
export function openSpecPackage(dir?: string): SpecPackage {
  const download = dir === undefined ? downloadSpecPackage() : undefined;
  const root = dir ?? join(download!, 'package');
  if (!existsSync(join(root, 'package.json'))) throw new Error(`${root} is not an extracted npm package`);
  const names = readdirSync(root).filter((f) => f.endsWith('.json')).sort();
  return {
    dir: root,
    files: (prefix = '') => names.filter((f) => f.startsWith(prefix)),
    read: <T>(file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as T,
    close: () => {
      if (download) rmSync(download, { recursive: true, force: true });
    },
  };
}

function downloadSpecPackage(): string {
  const work = mkdtempSync(join(tmpdir(), 'fhir-spec-'));
  console.log(`fetching ${SPEC_PACKAGE} into ${work}`);
  const tarball = execFileSync('npm', ['pack', SPEC_PACKAGE, '--silent'], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('tar', ['-xzf', tarball], { cwd: work });
  return work;
}
