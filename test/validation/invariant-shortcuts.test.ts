import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../../src/paths';
import { elementModel } from '../../src/validation/element-model';
import { FhirPathEngine } from '../../src/validation/fhirpath-engine';
import { walkResource } from '../../src/validation/instance-walker';
import { loadCoreInvariants } from '../../src/validation/invariants';
import { propertiesOf, shortcutFor } from '../../src/validation/invariant-shortcuts';
import { compilePresenceCheck } from '../../src/validation/presence-logic';
import { example, examplesDir } from './helpers';

/**
 * The plain-JS shortcuts must agree with fhirpath.js wherever they decide:
 * on every node of every fixture (and of the Synthea bundles when
 * ../shared is there), and on hand-made violations.
 */

const plain = new FhirPathEngine({ shortcuts: false });
const fast = new FhirPathEngine();
const invariants = loadCoreInvariants();

interface Agreement {
  mismatches: string[];
  /** Verdicts the shortcuts gave, per invariant key: how many passes and fails. */
  decided: Map<string, { pass: number; fail: number }>;
}

function compareOn(resources: Record<string, unknown>[]): Agreement {
  const out: Agreement = { mismatches: [], decided: new Map() };
  for (const resource of resources) {
    walkResource(elementModel(), resource, String(resource.resourceType), (node) => {
      for (const base of new Set([node.typeName, node.elementPath])) {
        for (const invariant of invariants.get(base) ?? []) {
          const reference = plain.check(node.value, base, invariant.expression, node).kind;
          const viaEngine = fast.check(node.value, base, invariant.expression, node).kind;
          if (viaEngine !== reference) out.mismatches.push(`${invariant.key}@${node.expression}: engine ${viaEngine}, fhirpath ${reference}`);
          const verdict = shortcutFor(invariant.expression)?.(node.value as Record<string, unknown>, { rootResource: node.rootResource, properties: propertiesOf(base) });
          if (verdict === undefined) continue;
          const counts = out.decided.get(invariant.key) ?? { pass: 0, fail: 0 };
          counts[verdict ? 'pass' : 'fail']++;
          out.decided.set(invariant.key, counts);
          if ((verdict ? 'pass' : 'fail') !== reference) out.mismatches.push(`${invariant.key}@${node.expression}: shortcut ${String(verdict)}, fhirpath ${reference}`);
        }
      }
    });
  }
  return out;
}

const contained = { resourceType: 'Organization', id: 'o', name: 'Acme' };

/** Resources that break the invariants the shortcuts decide, and near misses that do not. */
const HAND_MADE: Record<string, unknown>[] = [
  { resourceType: 'Patient', managingOrganization: { reference: '#missing' } },
  { resourceType: 'Patient', contained: [contained], managingOrganization: { reference: '#other' } },
  { resourceType: 'Patient', contained: [contained], managingOrganization: { reference: '#o' } },
  { resourceType: 'Patient', contained: [contained], managingOrganization: { reference: '#' } },
  { resourceType: 'Patient', managingOrganization: { reference: 'Organization/o' } },
  { resourceType: 'Patient', managingOrganization: { display: 'no reference' } },
  { resourceType: 'Patient', managingOrganization: { _reference: { extension: [{ url: 'http://x', valueString: 'y' }] } } },
  {
    resourceType: 'Patient',
    contained: [{ ...contained, contained: [{ resourceType: 'Organization', id: 'n' }] }, { ...contained, id: 'v', meta: { versionId: '1' } }],
    generalPractitioner: [{ reference: '#o' }],
  },
  { resourceType: 'Patient', contained: [{ ...contained, meta: { lastUpdated: '2020-01-01T00:00:00Z', security: [{ code: 'R' }] } }] },
  { resourceType: 'Patient', contained: [{ ...contained, meta: { tag: [{ code: 't' }] } }] },
  ...[
    { start: '2020-02-01', end: '2020-01-01' },
    { start: '2020-01-01', end: '2020-01-01' },
    { start: '2020-01-01T10:00:00+01:00', end: '2020-01-01T09:30:00Z' },
    { start: '2020-01-01T10:00:00Z', end: '2020-01-01T10:30:00+01:00' },
    { start: '2020-01-02', end: '2020-01-01T10:00:00Z' },
    { start: '2020', end: '2019-12' },
    { start: '2020-01-01T10:00:00.500Z', end: '2020-01-01T10:00:00Z' },
    { start: '2020-01-01' },
    { end: '2020-01-01', _start: { extension: [{ url: 'http://x', valueString: 'y' }] } },
  ].map((period) => ({ resourceType: 'Patient', name: [{ family: 'P', period }] })),
  {
    resourceType: 'Patient',
    extension: [
      { url: 'http://both', valueString: 'x', extension: [{ url: 'http://in', valueCode: 'c' }] },
      { url: 'http://neither' },
      { url: 'http://companion', _valueString: { extension: [{ url: 'http://x', valueString: 'y' }] } },
      { url: 'http://nested', extension: [{ url: 'http://none' }, { url: 'http://value', valueBoolean: true }] },
    ],
  },
  {
    resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1' }] },
    valueQuantity: { value: 1, code: 'mg' }, dataAbsentReason: { text: 'both' },
    component: [{ code: { coding: [{ system: 'http://loinc.org', code: '1' }] }, valueQuantity: { value: 2, system: 'http://unitsofmeasure.org', code: 'mg' } }],
  },
  { resourceType: 'Observation', status: 'final', code: { text: 'x' }, component: [{ code: { text: 'y' } }] },
  { resourceType: 'Patient', telecom: [{ value: '555' }, { system: 'phone' }, { system: 'phone', value: '1' }] },
  // dom-3: unreferenced, referenced from a canonical (left to fhirpath.js), referring to its container.
  { resourceType: 'Patient', contained: [contained] },
  { resourceType: 'Patient', contained: [contained, { ...contained, id: 'p' }], managingOrganization: { reference: '#o' } },
  { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/1' }, contained: [{ resourceType: 'ActivityDefinition', id: 'a', status: 'active' }], instantiatesCanonical: ['#a'] },
  { resourceType: 'Patient', contained: [{ ...contained, partOf: { reference: '#' } }] },
  { resourceType: 'Patient', contained: [contained], name: [{ text: '#o' }] },
  // txt-2: whitespace only, tags only, an image, text.
  ...[' \n\t ', '<p> </p>', '<img src="x.png"/>', '<p>x</p>'].map((inner) => ({
    resourceType: 'Patient',
    text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>` },
  })),
];

t.test('shortcuts agree with fhirpath.js on every node of the official examples', async (t) => {
  const files = readdirSync(examplesDir).filter((f) => f.endsWith('.json'));
  const { mismatches, decided } = compareOn(files.map(example));
  t.same(mismatches, []);
  for (const key of ['ref-1', 'per-1', 'dom-2', 'dom-3', 'dom-4', 'dom-5', 'ext-1', 'txt-2']) t.ok((decided.get(key)?.pass ?? 0) > 0, `${key} decided by its shortcut`);
});

t.test('shortcuts agree with fhirpath.js on hand-made violations, and decide them', async (t) => {
  const { mismatches, decided } = compareOn(HAND_MADE);
  t.same(mismatches, []);
  for (const key of ['ref-1', 'per-1', 'dom-2', 'dom-3', 'dom-4', 'dom-5', 'ext-1', 'txt-2', 'qty-3', 'obs-6', 'cpt-2']) {
    t.ok((decided.get(key)?.fail ?? 0) > 0, `${key}: a violation decided by its shortcut`);
  }
});

const syntheaDir = join(projectRoot, '..', 'shared', 'data', 'synthea');
t.test('shortcuts agree with fhirpath.js on the Synthea bundles', { skip: existsSync(syntheaDir) ? false : `${syntheaDir} is absent` }, async (t) => {
  const resources = readdirSync(syntheaDir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => (JSON.parse(readFileSync(join(syntheaDir, f), 'utf8')) as { entry: { resource: Record<string, unknown> }[] }).entry.map((e) => e.resource));
  const { mismatches } = compareOn(resources);
  t.same(mismatches, []);
});

t.test('the presence grammar', async (t) => {
  const verdict = (expression: string, node: Record<string, unknown>) => compilePresenceCheck(expression)!(node, undefined);
  t.equal(verdict('a.exists() xor b.exists()', { a: 1, b: 2 }), false);
  t.equal(verdict('a.exists() xor b.exists()', { a: 1 }), true);
  t.equal(verdict('a.exists() = b.empty()', { a: 1 }), true);
  t.equal(verdict('(a.exists() and b.exists()) or c.exists().not()', { a: 1 }), true);
  t.equal(verdict('(a.exists() and b.exists()) or c.exists().not()', { a: 1, c: 1 }), false);
  t.equal(verdict('a.b.c.empty()', { a: [{ b: { c: 1 } }] }), false, 'deep paths through arrays');
  t.equal(verdict('a.b.c.empty()', { a: [{ d: 1 }] }), true);
  t.equal(verdict('a.empty()', { aString: 'x' }), undefined, 'a possible choice variant of an unknown type: fhirpath.js decides');
  t.equal(verdict('a.empty()', { _a: {} }), undefined, 'a primitive known only by its extensions: fhirpath.js decides');
  t.equal(verdict('a.exists() or b.exists()', { aX: 1 }), undefined, 'no verdict is guessed from the other side');
  t.equal(verdict('a.exists() implies b.exists()', {}), true, 'implies: a false premise');
  t.equal(verdict('a.exists() implies b.exists()', { a: 1 }), false);
  t.equal(verdict('a.exists() implies b.exists()', { a: 1, b: 1 }), true);
  t.equal(verdict('a.exists() or b.exists() implies c.exists()', { b: 1 }), false, 'implies binds looser than or');
  t.equal(verdict('(a.empty() and b.empty()) implies (c.exists() or d.exists())', { d: 1 }), true);
  for (const outside of ["where(use = 'home').empty()", '%resource.a.exists()', 'a.exists(b)', '$this.empty()', 'a.count() > 0', 'empty()', 'a.exists() implies', 'a.exists() or']) {
    t.equal(compilePresenceCheck(outside), undefined, `${outside} is left to fhirpath.js`);
  }
});

t.test('the profiles’ presence invariants (vs-2, vs-3) agree with fhirpath.js on the vital-signs examples and broken copies', async (t) => {
  const dir = join(projectRoot, 'test', 'fixtures', 'profile-examples');
  const vitals = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>);
  const broken = vitals.map(({ valueQuantity: _v, component: _c, hasMember: _h, dataAbsentReason: _d, ...rest }) => rest);
  const vs2 = '(component.empty() and hasMember.empty()) implies (dataAbsentReason.exists() or value.exists())';
  t.ok(shortcutFor(vs2), 'vs-2 has a shortcut');
  const verdicts: string[] = [];
  for (const resource of [...vitals, ...broken]) {
    const context = { resource, rootResource: resource };
    const reference = plain.check(resource, 'Observation', vs2, context).kind;
    t.equal(fast.check(resource, 'Observation', vs2, context).kind, reference, `vs-2 on ${String(resource.id)}`);
    verdicts.push(reference);
  }
  t.ok(verdicts.includes('pass') && verdicts.includes('fail'), 'both verdicts occur');
});
