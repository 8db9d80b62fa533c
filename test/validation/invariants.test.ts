import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createValidator } from '../../src/validation/validator';
import { SKIPPED_INVARIANTS } from '../../src/validation/skipped-invariants';
import { errorKeys, errors, example, validator } from './helpers';

t.test('pat-1: a contact has details or an organization', async (t) => {
  const patient = { resourceType: 'Patient', contact: [{ name: { family: 'Ok' } }, { gender: 'female' }] };
  t.same(errorKeys(patient), ['invariant@Patient.contact[1]']);
  t.match(errors(validator.validate(patient))[0]!.diagnostics, /^pat-1: /);
});

t.test('ppc-1: a consent has a policy or a policy rule', async (t) => {
  const consent = example('Consent-consent-example-basic.json');
  t.same(errorKeys(consent), [], 'the official example is valid');
  delete consent.policyRule;
  delete consent.policy;
  t.same(errorKeys(consent), ['invariant@Consent']);
});

t.test('data type invariants apply wherever the type occurs', async (t) => {
  const period = { start: '2020-02-01', end: '2020-01-01' };
  t.same(errorKeys({ resourceType: 'Patient', contact: [{ name: { family: 'X', period } }] }), ['invariant@Patient.contact[0].name.period'], 'per-1 in a HumanName');
  t.same(errorKeys({ resourceType: 'Patient', extension: [{ url: 'http://x' }] }), ['invariant@Patient.extension[0]'], 'ext-1');
  // The link makes the contained resource referenced (dom-3).
  const inContained = { resourceType: 'Patient', contained: [{ resourceType: 'Patient', id: 'p', address: [{ period }] }], link: [{ other: { reference: '#p' }, type: 'seealso' }] };
  t.same(errorKeys(inContained), ['invariant@Patient.contained[0].address[0].period'], 'in a contained resource');
  const ratio = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueRatio: { numerator: { value: 1 } } };
  t.same(errorKeys(ratio), ['invariant@Observation.valueRatio'], 'rat-1 on a choice variant');
});

t.test('references to contained resources resolve against the container (ref-1)', async (t) => {
  const ok = { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'Acme' }], managingOrganization: { reference: '#o' } };
  t.same(errorKeys(ok), []);
  // generalPractitioner keeps the contained Organization referenced (dom-3), so ref-1 alone fails.
  t.same(errorKeys({ ...ok, generalPractitioner: [{ reference: '#o' }], managingOrganization: { reference: '#missing' } }), ['invariant@Patient.managingOrganization']);
});

t.test('skipped invariants are listed with a reason', async (t) => {
  t.ok(SKIPPED_INVARIANTS.size > 0);
  for (const [key, reason] of SKIPPED_INVARIANTS) t.ok(reason.length > 20, `${key} has a reason`);
});

t.test('an invariant that cannot be evaluated is a warning, not a crash', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-profiles-'));
  const url = 'http://concord.example/test/broken';
  writeFileSync(
    join(dir, 'broken.json'),
    JSON.stringify({
      resourceType: 'StructureDefinition', url, name: 'Broken', type: 'Patient', kind: 'resource', abstract: false, derivation: 'constraint', status: 'draft',
      differential: { element: [{ path: 'Patient', constraint: [{ key: 'bad-1', severity: 'error', human: 'throws', expression: "'a' + 1 + today().unknownFunction()" }] }] },
    }),
  );
  const v = createValidator({ profilesDir: dir });
  const issues = v.validate({ resourceType: 'Patient', meta: { profile: [url] } });
  t.same(errors(issues), []);
  t.match(issues, [{ severity: 'warning', code: 'processing', diagnostics: /^bad-1 could not be evaluated/ }]);
});

t.test('dom-3: a contained resource is referenced, or refers to its container', async (t) => {
  const org = { resourceType: 'Organization', id: 'o', name: 'Acme' };
  t.same(errorKeys({ resourceType: 'Patient', contained: [org] }), ['invariant@Patient'], 'not referenced');
  t.same(errorKeys({ resourceType: 'Patient', contained: [org], managingOrganization: { reference: '#o' } }), [], 'referenced');
  t.same(errorKeys({ resourceType: 'Patient', contained: [{ ...org, partOf: { reference: '#' } }] }), [], 'refers to its container');
  const issue = validator.validate({ resourceType: 'Patient', contained: [org] })[0];
  t.match(issue?.diagnostics, /^dom-3:/);
});

t.test('txt-2: the narrative has non-whitespace content', async (t) => {
  const withDiv = (inner: string) => ({ resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>` } });
  t.same(errorKeys(withDiv('  \n ')), ['invariant@Patient.text'], 'whitespace only');
  t.same(errorKeys(withDiv('<p> </p>')), ['invariant@Patient.text'], 'empty tags');
  t.same(errorKeys(withDiv('<p>Ann</p>')), [], 'text');
  t.same(errorKeys(withDiv('<img src="a.png"/>')), [], 'an image');
  t.match(validator.validate(withDiv(' '))[0]?.diagnostics, /^txt-2:/);
});
