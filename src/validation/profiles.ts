import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import type { Issue } from '../errors';
import type { FhirPathEngine } from './fhirpath-engine';
import { evaluate } from './invariants';
import { children, selectNodes, type SelectedNode } from './node-selection';
import { SKIPPED_INVARIANTS } from './skipped-invariants';
import { equalsFixed, matchesPattern } from './value-matching';

/**
 * The profiles (constraining StructureDefinitions) in a folder, checked
 * against the resources that claim them in `meta.profile`.
 *
 * What a profile adds is checked from its differential (or its snapshot when
 * it has no differential): cardinalities (min/max), fixed[x] and pattern[x]
 * values, and error-severity constraints. Slices (elements with a sliceName)
 * are not supported and are ignored.
 *
 * A claimed profile that is not in the folder is a warning, not an error:
 * meta.profile is a claim by the sender (often of a national or IG profile),
 * the resource is still checked against the base specification, and refusing
 * it would make the server unusable for clients of other implementation guides.
 */
export class ProfileRegistry {
  private constructor(private readonly byUrl: ReadonlyMap<string, StructureDefinition>) {}

  static load(dir: string): ProfileRegistry {
    const byUrl = new Map<string, StructureDefinition>();
    if (existsSync(dir)) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
        const sd = JSON.parse(readFileSync(join(dir, file), 'utf8')) as StructureDefinition;
        if (sd.resourceType !== 'StructureDefinition' || !sd.url) throw new Error(`${file} is not a StructureDefinition with a url`);
        byUrl.set(sd.url, sd);
      }
    }
    return new ProfileRegistry(byUrl);
  }

  check(resource: Record<string, unknown>, engine: FhirPathEngine): Issue[] {
    const claimed = (resource.meta as { profile?: unknown } | undefined)?.profile;
    if (!Array.isArray(claimed)) return [];
    return claimed.flatMap((canonical, i): Issue[] => {
      const url = String(canonical).split('|')[0]!;
      const profile = this.byUrl.get(url);
      const at = [`${String(resource.resourceType)}.meta.profile[${i}]`];
      if (!profile) {
        return [{ severity: 'warning', code: 'not-supported', diagnostics: `Profile ${url} is unknown to this server: checked against the base specification only`, expression: at }];
      }
      if (profile.type !== resource.resourceType) {
        return [{ severity: 'error', code: 'invalid', diagnostics: `Profile ${url} constrains ${profile.type}, not ${String(resource.resourceType)}`, expression: at }];
      }
      return checkProfile(profile, resource, engine);
    });
  }
}

function checkProfile(profile: StructureDefinition, resource: Record<string, unknown>, engine: FhirPathEngine): Issue[] {
  const elements = profile.differential?.element ?? profile.snapshot?.element ?? [];
  const by = `(profile ${profile.name ?? profile.url})`;
  return elements
    .filter((e) => !e.sliceName)
    .flatMap((e) => [...cardinalityIssues(e, resource, by), ...valueIssues(e, resource, by), ...constraintIssues(profile, e, resource, engine)]);
}

function cardinalityIssues(e: ElementDefinition, resource: Record<string, unknown>, by: string): Issue[] {
  const dot = e.path.lastIndexOf('.');
  if (dot < 0 || (e.min === undefined && e.max === undefined)) return [];
  const element = e.path.slice(dot + 1);
  const max = e.max === undefined || e.max === '*' ? Infinity : Number(e.max);
  const min = e.min ?? 0;
  return selectNodes(resource, e.path.slice(0, dot)).flatMap((parent: SelectedNode): Issue[] => {
    const count = children(parent, element).length;
    const at = [`${parent.expression}.${element.replace('[x]', '')}`];
    if (count < min) return [{ severity: 'error', code: 'required', diagnostics: `${at[0]}: minimum required = ${min}, but only found ${count} ${by}`, expression: at }];
    if (count > max) return [{ severity: 'error', code: 'structure', diagnostics: `${at[0]}: maximum allowed = ${max}, but found ${count} ${by}`, expression: at }];
    return [];
  });
}

function valueIssues(e: ElementDefinition, resource: Record<string, unknown>, by: string): Issue[] {
  const fixed = pinnedValue(e, 'fixed');
  const pattern = pinnedValue(e, 'pattern');
  if (fixed === undefined && pattern === undefined) return [];
  return selectNodes(resource, e.path).flatMap((node): Issue[] => {
    if (fixed !== undefined && !equalsFixed(node.value, fixed)) {
      return [{ severity: 'error', code: 'value', diagnostics: `${node.expression}: value does not equal the fixed value ${by}`, expression: [node.expression] }];
    }
    if (pattern !== undefined && !matchesPattern(node.value, pattern)) {
      return [{ severity: 'error', code: 'value', diagnostics: `${node.expression}: value does not match the required pattern ${by}`, expression: [node.expression] }];
    }
    return [];
  });
}

/** The value of `fixedX`/`patternX`, whatever its type suffix. */
function pinnedValue(e: ElementDefinition, kind: 'fixed' | 'pattern'): unknown {
  const entry = Object.entries(e).find(([k]) => k.startsWith(kind) && /^[A-Z]/.test(k.slice(kind.length)));
  return entry?.[1];
}

function constraintIssues(profile: StructureDefinition, e: ElementDefinition, resource: Record<string, unknown>, engine: FhirPathEngine): Issue[] {
  // A snapshot repeats the base invariants, which the core check already evaluates: keep the profile's own.
  const own = (c: { source?: string }) => !c.source || c.source === profile.url;
  const constraints = (e.constraint ?? []).filter((c) => c.severity === 'error' && c.expression && own(c) && !SKIPPED_INVARIANTS.has(c.key));
  if (constraints.length === 0) return [];
  const nodes = selectNodes(resource, e.path);
  return constraints.flatMap((c) =>
    nodes.flatMap((node) => evaluate(engine, { key: c.key, expression: c.expression!, human: c.human }, node.value, e.path, node.expression, { resource, rootResource: resource }) ?? []),
  );
}
