/**
 * The outbox across kill -9: events of acknowledged writes that were not
 * delivered when the process died are delivered after the restart, in
 * order, with their numbers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startServer } from '../process/entry-point';
import { backportSubscription, eventually, startReceiver } from './world';

type Param = { name: string; valueCode?: string; valueString?: string; part?: Param[] };

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });

t.test('kill -9 between commit and delivery: delivered after the restart', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const dir = mkdtempSync(join(tmpdir(), 'concord-subs-kill-'));
  const env = {
    AUTH_MODE: 'off',
    SQLITE_PATH: join(dir, 'concord.db'),
    SUBSCRIPTION_ENDPOINT_ALLOWLIST: `${new URL(receiver.url).origin}/`,
    // A long backoff: a failed attempt is not retried before the kill.
    SUBSCRIPTION_RETRY_BASE_MS: '600000',
  };
  const first = await startServer(env);
  const created = await post(`${first.url}/Subscription`, backportSubscription(receiver.url, 'resource-changed', ['Patient?resourceType=Patient'], 'id-only'));
  t.equal(created.status, 201);
  const { id } = (await created.json()) as { id: string };
  await eventually(async () => ((await (await fetch(`${first.url}/Subscription/${id}`)).json()) as { status: string }).status, (status) => status === 'active', 15000);

  receiver.status = () => 503; // the endpoint is down: nothing is delivered before the kill
  for (let i = 0; i < 5; i += 1) t.equal((await post(`${first.url}/Patient`, { resourceType: 'Patient', gender: 'other' })).status, 201);
  first.child.kill('SIGKILL');
  await first.exited;
  t.equal(receiver.received.length, 1, 'only the handshake got through');

  receiver.status = () => 200;
  const second = await startServer(env);
  t.teardown(() => void second.child.kill('SIGKILL'));
  const got = await receiver.waitFor(6, 20000);
  const numbers = got.slice(1).map((request) => {
    const status = JSON.parse(request.body).entry[0].resource as { parameter: Param[] };
    return status.parameter.find((p) => p.name === 'notification-event')!.part!.find((p) => p.name === 'event-number')!.valueString;
  });
  t.same(numbers, ['1', '2', '3', '4', '5'], 'every event, in order, numbered without gaps');
});
