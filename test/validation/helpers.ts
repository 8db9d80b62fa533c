import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Issue } from '../../src/errors';
import { projectRoot } from '../../src/paths';
import { createValidator } from '../../src/validation/validator';

/** One validator for a test file: compiling is the expensive part. */
export const validator = createValidator();

export const examplesDir = join(projectRoot, 'test', 'fixtures', 'examples');

export function example(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as Record<string, unknown>;
}

export function errors(issues: Issue[]): Issue[] {
  return issues.filter((i) => i.severity === 'error');
}

/** `code@expression` of each error, for compact assertions. */
export function errorKeys(resource: unknown, v = validator): string[] {
  return errors(v.validate(resource)).map((i) => `${i.code}@${(i.expression ?? []).join(',')}`);
}
