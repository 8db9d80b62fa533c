/**
 * A storage that cannot run the booking rule inside its units (standalone
 * MongoDB: no transactions, so registering an `inside` listener throws):
 * the server says so loudly at start and `$hold` and `$book` answer 501
 * instead of booking without the rule.
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import { FhirError } from '../../src/errors';
import type { Services } from '../../src/interactions/services';
import { bookAppointment, holdAppointment } from '../../src/operations/appointment-book';
import { installScheduling } from '../../src/scheduling/install';
import type { Storage } from '../../src/storage/port';

t.test('without the rule, $hold and $book answer 501', async (t) => {
  const storage = {
    onCommit: () => {
      throw new Error('standalone MongoDB has no atomic units');
    },
    search: async () => ({ records: [] }),
  } as unknown as Storage;
  const warnings: string[] = [];
  const scheduling = installScheduling(storage, 'http://localhost/fhir', { sweepIntervalMs: 30_000 }, (message) => warnings.push(message));
  t.teardown(() => scheduling.stop());
  t.equal(scheduling.enforced, false);
  t.match(warnings[0], /SCHEDULING RULES ARE NOT ENFORCED/);
  const services = { storage, scheduling } as unknown as Services;
  const ctx = systemContext('http://localhost/fhir');
  const body = { resourceType: 'Parameters', parameter: [] };
  const statusOf = (promise: Promise<unknown>) => promise.then(() => 'no error', (error: unknown) => (error instanceof FhirError ? error.status : String(error)));
  t.equal(await statusOf(holdAppointment(services, ctx, body)), 501, '$hold');
  t.equal(await statusOf(bookAppointment(services, ctx, body, undefined)), 501, '$book');
});
