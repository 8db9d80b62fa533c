import type { Issue } from '../errors';
import { isResourceType } from '../fhir/definitions';
import { profilesDir as defaultProfilesDir } from '../paths';
import { bindingIssuesAt, loadCoreBindings, type BindingIndex } from './bindings';
import { elementModel } from './element-model';
import { FhirPathEngine } from './fhirpath-engine';
import { walkResource } from './instance-walker';
import { invariantIssuesAt, loadCoreInvariants, type InvariantIndex } from './invariants';
import { ProfileRegistry } from './profiles';
import { loadReferenceTargets, referenceTargetIssuesAt, type ReferenceTargets } from './reference-targets';
import { StructureValidator } from './structure';
import { ucumIssuesAt } from './ucum';
import { structureIssues } from './structure-issues';

export interface Validator {
  /**
   * Checks a resource against the R4 definitions and the profiles it claims
   * in meta.profile. Returns the problems found, errors first then warnings,
   * in a deterministic order; no error means the resource may be stored.
   */
  validate(resource: unknown): Issue[];
}

export interface ValidatorOptions {
  /** Folder of StructureDefinition JSON files (profiles) to check `meta.profile` against. */
  profilesDir?: string;
}

/**
 * Creating a validator is cheap: the artefacts are read and compiled on the
 * first validation (and each resource type's schema on its first use), so
 * that server start-up does not pay for them.
 */
export function createValidator(options: ValidatorOptions = {}): Validator {
  const profilesDir = options.profilesDir ?? defaultProfilesDir;
  let state:
    | { structure: StructureValidator; invariants: InvariantIndex; bindings: BindingIndex; engine: FhirPathEngine; profiles: ProfileRegistry; targets: ReferenceTargets }
    | undefined;
  const ready = () =>
    (state ??= {
      structure: new StructureValidator(),
      invariants: loadCoreInvariants(),
      bindings: loadCoreBindings(elementModel()),
      engine: new FhirPathEngine(),
      profiles: ProfileRegistry.load(profilesDir),
      targets: loadReferenceTargets(),
    });

  return {
    validate(resource: unknown): Issue[] {
      const rootIssue = checkEnvelope(resource);
      if (rootIssue) return [rootIssue];
      const { structure, invariants, bindings, engine, profiles, targets } = ready();
      const body = resource as Record<string, unknown>;
      const type = body.resourceType as string;
      const structural = structureIssues(type, structure.errors(body));
      const issues: Issue[] = [];
      // One walk for the per-node checks: walking the instance costs as much as checking its bindings.
      walkResource(elementModel(), body, type, (node) => {
        bindingIssuesAt(node, bindings, issues);
        invariantIssuesAt(node, invariants, engine, issues);
        ucumIssuesAt(node, issues);
        referenceTargetIssuesAt(node, targets, issues);
      });
      // Profiles read values of the declared types: a structurally broken resource is not checked against them.
      if (structural.length === 0) issues.push(...profiles.check(body, engine));
      const all = [...structural, ...independentOf(structural, issues)];
      return [...all.filter((i) => i.severity === 'error'), ...all.filter((i) => i.severity !== 'error')];
    },
  };
}

/**
 * The binding and invariant issues that do not depend on a structurally
 * broken element: an issue located at a broken element, inside it, or on an
 * ancestor of it (whose invariants read it) would only echo the structural
 * error, or judge values of the wrong type. Issues on siblings are kept, so
 * that one pass reports every independent problem.
 */
function independentOf(structural: readonly Issue[], issues: readonly Issue[]): Issue[] {
  if (structural.length === 0) return [...issues];
  const broken = structural.flatMap((i) => i.expression ?? []);
  return issues.filter((issue) => (issue.expression ?? []).every((at) => broken.every((b) => !related(at, b))));
}

/** Whether one location is the other, or an ancestor of it (`Patient.contact[0]` and `Patient.contact[0].name`). */
function related(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return long === short || long.startsWith(`${short}.`) || long.startsWith(`${short}[`);
}

/** The body must be a JSON object of a known resource type before anything else is checked. */
function checkEnvelope(resource: unknown): Issue | undefined {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return { severity: 'error', code: 'invalid', diagnostics: 'The body must be a FHIR resource (a JSON object)' };
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string') {
    return { severity: 'error', code: 'invalid', diagnostics: 'The resource has no resourceType', expression: ['resourceType'] };
  }
  if (!isResourceType(type)) {
    return { severity: 'error', code: 'not-supported', diagnostics: `'${type}' is not a FHIR R4 resource type`, expression: ['resourceType'] };
  }
  return undefined;
}
