/**
 * The OperationDefinitions generated from the descriptors
 * (src/operations/operation-definition.ts): what they say, where they are
 * served, how the CapabilityStatement points at them, and that the access
 * filter applies to them as to stored resources.
 */
import t from 'tap';
import type { Bundle, CapabilityStatement } from '../../src/fhir/types';
import type { OperationDescriptor } from '../../src/operations/descriptor';
import { operationDefinition } from '../../src/operations/operation-definition';
import { operations } from '../../src/operations/registry';
import { BASE_URL, fhirJson, startHarness } from '../http/harness';
import { startSecureHarness } from '../security/auth-kit';

const stamp: OperationDescriptor = {
  code: 'stamp',
  definition: 'OperationDefinition/Observation-stamp',
  resourceTypes: ['Observation', 'Patient'],
  affectsState: true,
  get: [],
  post: ['system', 'instance'],
  permissions: { instance: ['u'] },
  parameters: [
    { name: 'by', type: 'reference', min: 1, max: 1, documentation: 'Who stamps' },
    { name: 'tag', type: 'code', min: 0, max: '*' },
    { name: 'payload', type: 'Resource', resourceType: 'Basic', min: 0, max: 1 },
  ],
  returns: { type: 'Parameters' },
  handler: async () => ({ body: { resourceType: 'Parameters' } }),
};

t.test('a descriptor becomes its OperationDefinition: code, types, levels, affectsState, parameters', async (t) => {
  t.same(operationDefinition(stamp, BASE_URL), {
    resourceType: 'OperationDefinition',
    id: 'Observation-stamp',
    url: `${BASE_URL}/OperationDefinition/Observation-stamp`,
    name: 'ObservationStamp',
    status: 'active',
    kind: 'operation',
    affectsState: true,
    code: 'stamp',
    resource: ['Observation', 'Patient'],
    system: true,
    type: false,
    instance: true,
    parameter: [
      { name: 'by', use: 'in', min: 1, max: '1', type: 'Reference', documentation: 'Who stamps' },
      { name: 'tag', use: 'in', min: 0, max: '*', type: 'code' },
      { name: 'payload', use: 'in', min: 0, max: '1', type: 'Basic' },
      { name: 'return', use: 'out', min: 1, max: '1', type: 'Parameters' },
    ],
  });
  const versioned = operationDefinition({ ...stamp, definition: 'http://example.org/fhir/OperationDefinition/Observation-stamp|1.0.0' }, BASE_URL);
  t.equal(versioned.id, 'Observation-stamp', 'an IG canonical with a version: the id without it');
  t.equal(versioned.base, 'http://example.org/fhir/OperationDefinition/Observation-stamp|1.0.0', 'the base keeps it');
  const validate = operations().find((op) => op.code === 'validate');
  const definition = validate && operationDefinition(validate, BASE_URL);
  t.equal(definition?.base, 'http://hl7.org/fhir/OperationDefinition/Resource-validate', "an operation of the spec names the spec's as its base");
  t.same(definition?.resource, ['Resource'], 'an operation on every type is defined on Resource');
  t.same([definition?.system, definition?.type, definition?.instance], [false, true, true]);
});

t.test('every operation’s definition is served, and the CapabilityStatement points at it', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const statement = (await h.request({ url: '/fhir/metadata' })).json() as CapabilityStatement;
  const entries = [...(statement.rest?.[0]?.resource ?? []).flatMap((resource) => resource.operation ?? []), ...(statement.rest?.[0]?.operation ?? [])];
  const byName = new Map(entries.map((entry) => [entry.name, entry.definition]));
  t.equal(byName.get('everything'), 'http://hl7.org/fhir/OperationDefinition/Patient-everything', 'a standard operation keeps the spec’s canonical');
  t.equal(byName.get('evaluate'), `${BASE_URL}/OperationDefinition/Consent-evaluate`, 'a Concord operation: a canonical under the server’s base');

  for (const operation of operations()) {
    const canonical = byName.get(operation.code);
    t.ok(canonical, `$${operation.code} is in the CapabilityStatement`);
    // Resolve it the way a client would: by its canonical, then by the id it gives.
    const param = canonical?.startsWith(BASE_URL) ? 'url' : 'base';
    const found = await h.request({ url: `/fhir/OperationDefinition?${param}=${encodeURIComponent(canonical ?? '')}` });
    t.equal(found.statusCode, 200);
    const bundle = found.json() as Bundle;
    t.equal(bundle.total, 1, `$${operation.code}: found by ${param}`);
    const definition = bundle.entry?.[0]?.resource as { id?: string; code?: string; url?: string } | undefined;
    t.equal(definition?.code, operation.code);
    const read = await h.request({ url: `/fhir/OperationDefinition/${definition?.id}` });
    t.equal(read.statusCode, 200, `$${operation.code}: read by id`);
    t.equal(read.headers.etag, 'W/"1"');
    t.same(read.json(), bundle.entry?.[0]?.resource, 'the same resource either way');
    t.equal(`${BASE_URL}/OperationDefinition/${definition?.id}`, definition?.url, 'its url is where it is served');
  }
  const match = (await h.request({ url: '/fhir/OperationDefinition/Patient-match' })).json();
  t.same(
    match.parameter.map((p: { name: string; use: string; min: number; max: string; type: string }) => [p.name, p.use, p.min, p.max, p.type]),
    [
      ['resource', 'in', 1, '1', 'Patient'],
      ['onlyCertainMatches', 'in', 0, '1', 'boolean'],
      ['count', 'in', 0, '1', 'positiveInt'],
      ['return', 'out', 1, '1', 'Bundle'],
    ],
  );
  const conditional = await h.request({ url: '/fhir/OperationDefinition/Patient-match', headers: { 'if-none-match': 'W/"1"' } });
  t.equal(conditional.statusCode, 304, 'a conditional read of a served definition');
});

t.test('stored OperationDefinitions stay reachable: other ids and other searches reach the storage', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const own = {
    resourceType: 'OperationDefinition',
    id: 'local-op',
    url: 'http://example.org/OperationDefinition/local-op',
    name: 'LocalOp',
    status: 'draft',
    kind: 'operation',
    code: 'local',
    system: true,
    type: false,
    instance: false,
  };
  t.equal((await h.request({ method: 'PUT', url: '/fhir/OperationDefinition/local-op', headers: fhirJson, payload: JSON.stringify(own) })).statusCode, 201);
  t.equal((await h.request({ url: '/fhir/OperationDefinition/local-op' })).json().code, 'local', 'read');
  const byUrl = (await h.request({ url: `/fhir/OperationDefinition?url=${encodeURIComponent(own.url)}` })).json() as Bundle;
  t.same(
    byUrl.entry?.map((e) => e.resource?.id),
    ['local-op'],
    'a url the server does not serve is searched in the storage',
  );
  const unknown = await h.request({ url: '/fhir/OperationDefinition/nothing-here' });
  t.equal(unknown.statusCode, 404);
});

t.test('the scopes and their granular queries apply to served definitions', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const none = await h.token({ scope: 'system/Patient.rs' });
  t.equal((await h.as(none, { url: '/fhir/OperationDefinition/Patient-match' })).statusCode, 403, 'no grant on OperationDefinition: 403');
  const onlyMatch = await h.token({ scope: 'system/OperationDefinition.rs?code=match' });
  t.equal((await h.as(onlyMatch, { url: '/fhir/OperationDefinition/Patient-match' })).statusCode, 200, 'inside the granular scope');
  t.equal((await h.as(onlyMatch, { url: '/fhir/OperationDefinition/Patient-everything' })).statusCode, 404, 'outside it: as if absent');
  const search = (
    await h.as(onlyMatch, { url: `/fhir/OperationDefinition?base=${encodeURIComponent('http://hl7.org/fhir/OperationDefinition/Patient-everything')}` })
  ).json() as Bundle;
  t.equal(search.entry?.length ?? 0, 0, 'and not found by search');
});
