/**
 * What the route table (src/rest/routes.ts) derives: the 405 answers and
 * their Allow, the permissions of operations that say nothing, the
 * CapabilityStatement, and the matching of bundle entries.
 */
import t from 'tap';
import type { Bundle, CapabilityStatement } from '../../src/fhir/types';
import type { OperationDescriptor } from '../../src/operations/descriptor';
import { operations } from '../../src/operations/registry';
import { capabilityStatement } from '../../src/operations/capability-statement';
import { createRouter } from '../../src/rest/router';
import { operationRoutes, routeTable } from '../../src/rest/routes';
import { fhirJson, minimalPatient, startHarness } from '../http/harness';

const BASE_URL = 'http://localhost:8080/fhir';

const probe: OperationDescriptor = {
  code: 'probe',
  definition: 'urn:test:OperationDefinition:Observation-probe',
  resourceTypes: ['Observation'],
  get: ['type'],
  post: ['type', 'instance'],
  affectsState: false,
  // Nothing said for the instance level.
  permissions: { type: ['r'] },
  parameters: [{ name: 'depth', type: 'integer', min: 0, max: 1 }],
  handler: async (_services, _ctx, invocation) => ({ body: invocation.parameters }),
};

t.test('an operation level without declared permissions needs every permission', async (t) => {
  const routes = operationRoutes(probe);
  t.same(
    routes.map((r) => `${r.method} ${r.path}`),
    ['GET /:type/$probe', 'POST /:type/$probe', 'POST /:type/:id/$probe'],
  );
  t.same(routes.find((r) => r.path === '/:type/:id/$probe')?.permissions, ['c', 'r', 'u', 'd', 's']);
  t.same(routes.find((r) => r.path === '/:type/$probe')?.permissions, ['r']);
  for (const route of routeTable(operations())) t.ok(Array.isArray(route.permissions), `${route.method} ${route.path} says what it needs`);
});

t.test('the CapabilityStatement lists the table’s interactions and operations', async (t) => {
  const table = routeTable([...operations(), probe]);
  const statement = capabilityStatement(BASE_URL, { routes: table, operations: [...operations(), probe] }) as CapabilityStatement;
  const observation = statement.rest?.[0]?.resource?.find((r) => r.type === 'Observation');
  t.same(
    observation?.operation?.map((o) => o.name),
    ['validate', 'probe'],
  );
  const typeLevel = new Set(table.filter((r) => r.path.startsWith('/:type') && r.interaction !== 'operation').map((r) => r.interaction));
  t.same(observation?.interaction?.map((i) => i.code).sort(), [...typeLevel].sort());
  t.same(
    statement.rest?.[0]?.interaction?.map((i) => i.code),
    ['transaction', 'batch', 'search-system', 'history-system'],
  );
});

t.test('a GET query string becomes the operation’s Parameters from its declared parameters', async (t) => {
  const router = createRouter(routeTable([...operations(), probe]));
  const match = router.find('GET', '/Observation/$probe');
  t.equal(match?.route.operation, '$probe');
  const answer = await match!.route.handler(
    { storage: undefined as never, validator: undefined as never, maxBundleEntries: 1 },
    { requestId: 'r', baseUrl: BASE_URL, principal: { kind: 'operator' }, now: new Date() },
    {
      method: 'GET',
      params: match!.params,
      query: [
        ['depth', '2'],
        ['_format', 'json'],
      ],
      preference: 'representation',
      strict: false,
    },
    { router },
  );
  t.same(answer.body, { resourceType: 'Parameters', parameter: [{ name: 'depth', valueInteger: 2 }] }, 'declared ones only, typed');
});

t.test('a known path with another method is 405 with the table’s methods for it', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const cases: Array<[string, string, string]> = [
    ['GET', '/fhir/Patient/$match', 'POST'],
    ['PUT', '/fhir/Patient/_history', 'GET'],
    ['POST', '/fhir/_history', 'GET'],
    ['POST', '/fhir/metadata', 'GET'],
    ['POST', '/fhir/Patient/p1', 'GET, PUT, PATCH, DELETE'],
    ['PATCH', '/fhir/Patient', 'GET, POST, PUT, DELETE'],
    ['POST', '/fhir/Patient/p1/$everything', 'GET'],
    ['DELETE', '/fhir/Patient/p1/$validate', 'GET, POST'],
  ];
  for (const [method, url, allow] of cases) {
    const res = await h.request({ method: method as 'GET', url });
    t.equal(res.statusCode, 405, `${method} ${url}`);
    t.equal(res.headers.allow, allow, `${method} ${url}: Allow`);
    t.equal(res.json().resourceType, 'OperationOutcome');
  }
  const elsewhere = await h.request({ method: 'POST', url: '/fhir/Observation/$match', headers: fhirJson, payload: '{"resourceType":"Parameters"}' });
  t.equal(elsewhere.statusCode, 404, 'an operation on a type it is not defined on');
  t.match(elsewhere.json().issue[0].diagnostics, /\$match is defined on Patient, not Observation/);
});

t.test('bundle entries are matched by the same router: every operation the server has runs in a batch', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: JSON.stringify(minimalPatient({ id: 'p1' })) });
  const bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { request: { method: 'GET', url: 'Patient/p1/$validate' } },
      { request: { method: 'GET', url: 'Patient/p1/$everything' } },
      { request: { method: 'GET', url: 'Patient/$match' } },
      { request: { method: 'POST', url: '' }, resource: { resourceType: 'Bundle', type: 'batch' } },
    ],
  };
  const res = await h.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: JSON.stringify(bundle) });
  const entries = (res.json() as Bundle).entry ?? [];
  t.equal(entries[0]?.response?.status, '200 OK', 'instance $validate');
  t.equal(entries[0]?.resource?.resourceType, 'OperationOutcome');
  t.equal(entries[1]?.response?.status, '200 OK', '$everything');
  t.equal(entries[2]?.response?.status.split(' ')[0], '400', 'a method the route only answers 405 to');
  t.equal(entries[3]?.response?.status.split(' ')[0], '400', 'a nested bundle');
});
