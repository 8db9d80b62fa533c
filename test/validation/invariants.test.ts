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
  const inContained = { resourceType: 'Patient', contained: [{ resourceType: 'Patient', id: 'p', address: [{ period }] }] };
  t.same(errorKeys(inContained), ['invariant@Patient.contained[0].address[0].period'], 'in a contained resource');
  const ratio = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueRatio: { numerator: { value: 1 } } };
  t.same(errorKeys(ratio), ['invariant@Observation.valueRatio'], 'rat-1 on a choice variant');
});

t.test('references to contained resources resolve against the container (ref-1)', async (t) => {
  const ok = { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'Acme' }], managingOrganization: { reference: '#o' } };
  t.same(errorKeys(ok), []);
  t.same(errorKeys({ ...ok, managingOrganization: { reference: '#missing' } }), ['invariant@Patient.managingOrganization']);
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
