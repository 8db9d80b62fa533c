import t from 'tap';
import { readConformanceArtefact } from '../../src/fhir/definitions';
import { buildBindingIndex, bindingIssuesAt, type BindingsArtefact } from '../../src/validation/bindings';
import type { ElementModel } from '../../src/validation/element-model';
import { walkResource } from '../../src/validation/instance-walker';
import { errorKeys, errors, example, validator } from './helpers';

const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';

function condition(clinicalStatus: unknown): Record<string, unknown> {
  return { resourceType: 'Condition', subject: { reference: 'Patient/example' }, clinicalStatus };
}

t.test('a code outside a required value set is code-invalid at its element', async (t) => {
  t.same(errorKeys({ resourceType: 'Patient', gender: 'robot' }), ['code-invalid@Patient.gender']);
  const encounter = example('Encounter-example.json');
  t.same(errorKeys({ ...encounter, status: 'banana' }), ['code-invalid@Encounter.status']);
  t.same(errorKeys({ resourceType: 'Patient', gender: 'female' }), [], 'a code of the value set');
  t.same(errorKeys({ resourceType: 'Patient', gender: 'Female' }), ['code-invalid@Patient.gender'], 'codes are case-sensitive');
});

t.test('the diagnostics name the element and the value set, never the submitted code', async (t) => {
  const [issue] = errors(validator.validate({ resourceType: 'Patient', gender: 'robot' }));
  t.match(issue, { severity: 'error', code: 'code-invalid', expression: ['Patient.gender'] });
  t.match(issue!.diagnostics, /http:\/\/hl7\.org\/fhir\/ValueSet\/administrative-gender/);
  t.notMatch(issue!.diagnostics, /robot/);
});

t.test('bindings of data types apply wherever the type occurs', async (t) => {
  t.same(errorKeys({ resourceType: 'Patient', name: [{ family: 'X' }, { family: 'Y', use: 'nickname-ish' }] }), ['code-invalid@Patient.name[1].use'], 'HumanName.use');
  t.same(errorKeys({ resourceType: 'Patient', telecom: [{ system: 'pigeon', value: 'x' }] }), ['code-invalid@Patient.telecom[0].system'], 'ContactPoint.system');
  // The link makes the contained resource referenced (dom-3).
  const inContained = { resourceType: 'Patient', contained: [{ resourceType: 'Patient', id: 'p', gender: 'robot' }], link: [{ other: { reference: '#p' }, type: 'seealso' }] };
  t.same(errorKeys(inContained), ['code-invalid@Patient.contained[0].gender'], 'in a contained resource');
  const inBundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', gender: 'robot' } }] };
  t.same(errorKeys(inBundle), ['code-invalid@Bundle.entry[0].resource.gender'], 'in Bundle.entry.resource');
  const quantity = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 1, comparator: '~' } };
  t.same(errorKeys(quantity), ['code-invalid@Observation.valueQuantity.comparator'], 'Quantity.comparator on a choice variant');
});

t.test('arrays of codes are checked item by item, extension-only items are not', async (t) => {
  const patient = example('Patient-example.json');
  t.same(errorKeys({ ...patient, address: [{ use: 'home', type: 'both' }, { use: 'holiday-home' }] }), ['code-invalid@Patient.address[1].use'], 'arrays of bound data types');
  // SearchParameter.base is an array of codes bound to resource-types; null stands for an item with only extensions.
  const param = { resourceType: 'SearchParameter', url: 'http://x/sp', name: 'x', status: 'draft', description: 'd', code: 'x', type: 'token', expression: 'Patient.id', base: ['Patient', 'Pationt', null], _base: [null, null, { extension: [{ url: 'http://x', valueString: 'y' }] }] };
  t.same(errorKeys(param), ['code-invalid@SearchParameter.base[1]'], 'arrays of bound codes');
});

t.test('a CodeableConcept under a required binding needs a coding from the value set', async (t) => {
  t.same(errorKeys(condition({ coding: [{ system: CONDITION_CLINICAL, code: 'active' }] })), [], 'a member coding');
  t.same(
    errorKeys(condition({ coding: [{ system: 'http://example.org/local', code: 'A' }, { system: CONDITION_CLINICAL, code: 'remission' }] })),
    [],
    'a translation beside a member coding',
  );
  t.same(errorKeys(condition({ coding: [{ system: CONDITION_CLINICAL, code: 'cured' }] })), ['code-invalid@Condition.clinicalStatus'], 'unknown code in the right system');
  t.same(errorKeys(condition({ coding: [{ system: 'http://example.org/local', code: 'active' }] })), ['code-invalid@Condition.clinicalStatus'], 'right code, other system');
  t.same(errorKeys(condition({ coding: [{ code: 'active' }] })), ['code-invalid@Condition.clinicalStatus'], 'no system');
  t.same(errorKeys(condition({ text: 'active' })), ['code-invalid@Condition.clinicalStatus'], 'text alone');
});

t.test('value sets that cannot be expanded are skipped, with a reason', async (t) => {
  const artefact = readConformanceArtefact<BindingsArtefact & { skipped: Record<string, { reason: string; elements: string[] }> }>('bindings.json');
  const mimetypes = artefact.skipped['http://hl7.org/fhir/ValueSet/mimetypes'];
  t.match(mimetypes?.reason, /urn:ietf:bcp:13 is external/);
  t.ok(mimetypes?.elements.includes('Attachment.contentType'));
  t.notOk('Attachment.contentType' in artefact.elements, 'its elements are not checked');
  t.same(errorKeys({ resourceType: 'Patient', photo: [{ contentType: 'image/x-anything-goes' }] }), []);
  for (const [url, skipped] of Object.entries(artefact.skipped)) t.ok(skipped.reason.length > 10 && skipped.elements.length > 0, `${url} says why and where`);
});

t.test('the index covers Coding-typed elements too', async (t) => {
  // No R4 base element of type Coding has a required binding; a synthetic model shows the rule holds for them.
  const model: ElementModel = {
    primitives: { code: {}, uri: {}, string: {} },
    definitions: {
      Thing: { tag: { path: 'Thing.tag', type: 'Coding', array: true } },
      Coding: { system: { path: 'Coding.system', type: 'uri' }, code: { path: 'Coding.code', type: 'code' } },
    },
  };
  const index = buildBindingIndex(model, { elements: { 'Thing.tag': 'urn:vs' }, valueSets: { 'urn:vs': { 'urn:cs': ['a', 'b'] } } });
  const issues: string[] = [];
  const thing = { resourceType: 'Thing', tag: [{ system: 'urn:cs', code: 'a' }, { system: 'urn:cs', code: 'c' }, { system: 'urn:other', code: 'b' }] };
  walkResource(model, thing, 'Thing', (node) => issues.push(...bindingIssuesAt(node, index).map((i) => `${i.code}@${i.expression!.join()}`)));
  t.same(issues, ['code-invalid@Thing.tag[1]', 'code-invalid@Thing.tag[2]']);
});

t.test('an artefact that binds an element to a value set it does not expand is refused', async (t) => {
  const model: ElementModel = { primitives: { code: {} }, definitions: { Thing: { kind: { path: 'Thing.kind', type: 'code' } } } };
  t.throws(() => buildBindingIndex(model, { elements: { 'Thing.kind': 'urn:missing' }, valueSets: {} }), /Thing\.kind is bound to urn:missing/);
});

t.test('Money.currency is an ISO 4217 code (required binding)', async (t) => {
  const claim = example('Claim-100150.json');
  const withCurrency = (currency: string) => ({ ...claim, total: { value: 10, currency } });
  t.same(errorKeys(withCurrency('USD')), [], 'USD');
  t.same(errorKeys(withCurrency('XAU')), [], 'gold, listed by ISO');
  t.same(errorKeys(withCurrency('usd')), ['code-invalid@Claim.total.currency'], 'codes are upper case');
  t.same(errorKeys(withCurrency('ABC')), ['code-invalid@Claim.total.currency'], 'not a currency');
});
