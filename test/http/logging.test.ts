import t from 'tap';
import { fhirJson, minimalPatient, startHarness } from './harness';

t.test('one structured log line per request, without identifying data', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const secretName = 'Zebulon Quackenbush';
  await h.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: minimalPatient({ name: [{ text: secretName }] }) });
  await h.request({ method: 'GET', url: `/fhir/Patient?name=${encodeURIComponent(secretName)}` });
  await h.request({ method: 'PUT', url: '/fhir/Patient/mrn-123456', headers: fhirJson, payload: minimalPatient({ id: 'mrn-123456', birthDate: 'bad' }) });

  const lines = h.logs.filter((l) => l.msg === 'request');
  t.equal(lines.length, 3, 'one line per request');
  for (const line of lines) {
    t.ok(line.reqId, 'request id');
    t.ok(line.method, 'method');
    t.ok(line.route, 'route');
    t.type(line.status, 'number');
    t.type(line.ms, 'number');
  }
  t.same(lines.map((l) => l.route), ['/fhir/:type', '/fhir/:type', '/fhir/:type/:id'], 'the route pattern, not the URL');
  const everything = JSON.stringify(h.logs);
  t.notMatch(everything, /Zebulon|Quackenbush/, 'no names in the logs');
  t.notMatch(everything, /mrn-123456/, 'no ids in the logs');
  t.notMatch(everything, /1970-01-01/, 'no resource content in the logs');
});
