import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StructureDefinition } from 'fhir/r4';
import type { Issue } from '../errors';
import { readConformanceArtefact } from '../fhir/definitions';
import type { FhirPathEngine } from './fhirpath-engine';
import { checkAgainstRules } from './profile-check';
import { artefactOf, compileProfile, type ElementRule, type ProfileArtefact } from './profile-rules';

/**
 * The profiles (constraining StructureDefinitions) the server checks
 * resources against when they claim them in `meta.profile`: the resource
 * profiles of the R4 specification (conformance/core-profiles.json: the
 * vital-signs family, lipid, genetics, shareable, CDS Hooks...) and those of
 * the profiles folder. Both go through the same engine (profile-rules.ts,
 * profile-check.ts): cardinalities, slicing, fixed[x]/pattern[x], narrowed
 * types and Reference targets, required codes and invariants.
 *
 * A claimed profile the server does not know is a warning, not an error:
 * meta.profile is a claim by the sender (often of a national or IG profile),
 * the resource is still checked against the base specification, and refusing
 * it would make the server unusable for clients of other implementation guides.
 */
export class ProfileRegistry {
  /** Compiled on first use: a profile nobody claims costs nothing. */
  private readonly compiled = new Map<string, ElementRule>();

  private constructor(private readonly byUrl: ReadonlyMap<string, ProfileArtefact>) {}

  /** The core profiles plus the StructureDefinitions of `dir`; a file of `dir` replaces a core profile of the same url. */
  static load(dir: string): ProfileRegistry {
    const byUrl = new Map<string, ProfileArtefact>();
    for (const p of readConformanceArtefact<ProfileArtefact[]>('core-profiles.json')) byUrl.set(p.url, p);
    if (existsSync(dir)) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
        const sd = JSON.parse(readFileSync(join(dir, file), 'utf8')) as StructureDefinition;
        if (sd.resourceType !== 'StructureDefinition' || !sd.url) throw new Error(`${file} is not a StructureDefinition with a url`);
        byUrl.set(sd.url, artefactOf(sd));
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
      return this.lineage(profile).flatMap((p) => checkAgainstRules(this.rules(p), resource, engine, `(profile ${p.name ?? p.url})`));
    });
  }

  /** A differential profile and the known profiles it derives from, each checked on its own rules. */
  private lineage(profile: ProfileArtefact): ProfileArtefact[] {
    const out = [profile];
    for (let base = profile.baseDefinition; base && out.length < 16; ) {
      const parent = this.byUrl.get(base);
      if (!parent || out.includes(parent)) break;
      out.push(parent);
      base = parent.baseDefinition;
    }
    return out;
  }

  private rules(profile: ProfileArtefact): ElementRule {
    let rules = this.compiled.get(profile.url);
    if (!rules) this.compiled.set(profile.url, (rules = compileProfile(profile)));
    return rules;
  }
}
