/**
 * The versioning rules shared by both adapters (src/storage/versioning.ts),
 * which the MongoDB adapter's write path uses without a server to test it on.
 */
import t from 'tap';
import { FhirError } from '../../src/errors';
import type { AnyResource } from '../../src/fhir/types';
import { identity, notBefore, stampResource, storedInstant } from '../../src/storage/versioning';

t.test('identity: type and id, or 400', async (t) => {
  t.same(identity({ resourceType: 'Patient', id: 'a' }), { resourceType: 'Patient', id: 'a' });
  t.equal(statusOf(() => identity({ resourceType: 'Patient' } as AnyResource)), 400);
  t.equal(statusOf(() => identity({ resourceType: 'Patient', id: '' })), 400);
  t.equal(statusOf(() => identity({ id: 'a' } as unknown as AnyResource)), 400);
});

t.test('notBefore: a version is never older than its predecessor', async (t) => {
  t.equal(notBefore('2024-01-01T00:00:01.000Z', '2024-01-01T00:00:02.000Z'), '2024-01-01T00:00:02.000Z', 'clock stepped back');
  t.equal(notBefore('2024-01-01T00:00:03.000Z', '2024-01-01T00:00:02.000Z'), '2024-01-01T00:00:03.000Z');
  t.equal(notBefore('2024-01-01T00:00:03.000Z', undefined), '2024-01-01T00:00:03.000Z', 'first version');
});

t.test('stampResource: storage-owned meta, placed after the identity, other meta kept', async (t) => {
  const stamped = stampResource(
    { resourceType: 'Patient', gender: 'male', id: 'a', meta: { versionId: '99', lastUpdated: 'x', tag: [{ code: 't' }] } } as AnyResource,
    3,
    '2024-01-01T00:00:00.000Z',
  );
  t.same(Object.keys(stamped), ['resourceType', 'id', 'meta', 'gender']);
  t.same(stamped.meta, { versionId: '3', lastUpdated: '2024-01-01T00:00:00.000Z', tag: [{ code: 't' }] });
});

t.test('storedInstant: any spelling of an instant becomes the stored ISO form; junk is 400', async (t) => {
  t.equal(storedInstant('2024-06-01T14:00:04+02:00', 'since'), '2024-06-01T12:00:04.000Z');
  t.equal(statusOf(() => storedInstant('yesterday', 'since')), 400);
});

function statusOf(run: () => unknown): number | string {
  try {
    run();
    return 'no error';
  } catch (error) {
    return error instanceof FhirError ? error.status : String(error);
  }
}
