import t from 'tap';
import { topicFires, topics } from '../../src/subscriptions/topics';
import { startWorld } from './world';

const CODES = ['appointment-booked', 'appointment-cancelled', 'appointment-changed', 'encounter-started', 'encounter-finished', 'referral-created', 'claim-submitted', 'claimresponse-issued', 'consent-changed', 'resource-changed'];

t.test('the ten topics, with fixed canonical URLs and their filters', async (t) => {
  t.same(topics().map((topic) => topic.id), CODES);
  for (const topic of topics()) {
    t.ok(topic.url.endsWith(`/SubscriptionTopic/${topic.id}`), topic.url);
    t.notOk(topic.url.includes('localhost'), 'never built from BASE_URL');
    const filters = topic.canFilterBy.map((filter) => filter.filterParameter);
    if (topic.id !== 'resource-changed') t.ok(filters.includes('patient'), `${topic.id} filters by patient`);
    if (topic.id.startsWith('appointment')) t.ok(filters.includes('actor'), `${topic.id} filters by actor`);
    if (topic.id.startsWith('claim')) t.ok(filters.includes('insurer') && filters.includes('provider'), `${topic.id} filters by insurer and provider`);
  }
});

t.test('transitions: booked, cancelled, changed', async (t) => {
  const byId = (id: string) => topics().find((topic) => topic.id === id)!;
  const appt = (status: string, start = '2027-01-01T09:00:00Z') => ({ resourceType: 'Appointment', status, start, participant: [] });
  t.ok(topicFires(byId('appointment-booked'), 'update', 'Appointment', appt('proposed'), appt('booked')));
  t.notOk(topicFires(byId('appointment-booked'), 'update', 'Appointment', appt('booked'), appt('booked')), 'already booked');
  t.ok(topicFires(byId('appointment-booked'), 'create', 'Appointment', undefined, appt('booked')));
  t.ok(topicFires(byId('appointment-cancelled'), 'update', 'Appointment', appt('booked'), appt('noshow')));
  t.notOk(topicFires(byId('appointment-cancelled'), 'update', 'Appointment', appt('cancelled'), appt('noshow')), 'already cancelled');
  t.ok(topicFires(byId('appointment-changed'), 'update', 'Appointment', appt('booked'), appt('booked', '2027-01-02T09:00:00Z')));
  t.notOk(topicFires(byId('appointment-changed'), 'update', 'Appointment', appt('booked'), appt('cancelled')), 'a status change alone is not a change of time or participant');
  t.ok(topicFires(byId('consent-changed'), 'delete', 'Consent', { resourceType: 'Consent' }, undefined));
  t.notOk(topicFires(byId('resource-changed'), 'delete', 'Observation', { resourceType: 'Observation' }, undefined), 'resource-changed: create or update only');
});

t.test('readable as the R4 form (Basic) and listed in the CapabilityStatement', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const found = await world.request({ method: 'GET', url: '/fhir/Basic?code=SubscriptionTopic&_count=50' });
  t.equal(found.statusCode, 200);
  const entries = found.json().entry as Array<{ resource: { extension: Array<{ url: string; valueUri?: string }> } }>;
  const urls = entries.map((entry) => entry.resource.extension.find((e) => e.url.endsWith('SubscriptionTopic.url'))!.valueUri).sort();
  t.same(urls, topics().map((topic) => topic.url).sort());
  const metadata = (await world.request({ method: 'GET', url: '/fhir/metadata' })).json();
  const subscription = metadata.rest[0].resource.find((resource: { type: string }) => resource.type === 'Subscription');
  t.same(subscription.extension.map((e: { valueCanonical: string }) => e.valueCanonical), topics().map((topic) => topic.url));
  t.ok(subscription.operation.some((op: { name: string }) => op.name === 'status'));
  t.ok(subscription.operation.some((op: { name: string }) => op.name === 'events'));
});
