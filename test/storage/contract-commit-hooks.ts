/**
 * The storage contract's rules for commit hooks (Storage.onCommit): what a
 * listener is shown, when, and what a veto or an outbox row does. Run by
 * storageContract for every adapter.
 */
import type { Test } from 'tap';
import { FhirError } from '../../src/errors';
import type { AnyResource } from '../../src/fhir/types';
import type { CommittedChange, Storage } from '../../src/storage/port';
import { contextAt } from './contract-fixtures';

type Rule = (title: string, body: (t: Test, storage: Storage) => Promise<void>) => unknown;

const ctx = contextAt('2024-04-01T09:00:00.000Z');
const patient = (id: string, extra: Record<string, unknown> = {}): AnyResource => ({ resourceType: 'Patient', id, ...extra });

/** What a test compares: the change without the stamped meta. */
function summary(change: CommittedChange): Record<string, unknown> {
  return {
    key: `${change.resourceType}/${change.id}/${change.versionId}`,
    before: change.before && { gender: change.before.gender, version: change.before.meta?.versionId },
    after: change.after && { gender: change.after.gender, version: change.after.meta?.versionId },
  };
}

/** A listener that keeps every batch it is shown, inside and after. */
function recorder(storage: Storage, types?: string[]) {
  const inside: CommittedChange[][] = [];
  const after: CommittedChange[][] = [];
  const unsubscribe = storage.onCommit!({
    ...(types && { types }),
    inside: (changes) => void inside.push([...changes]),
    after: (changes) => void after.push([...changes]),
  });
  return { inside, after, unsubscribe };
}

const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

export function rulesOfCommitHooks(rule: Rule): void {
  rule('commit hooks: single writes are shown once each, with before and after bodies', async (t, storage) => {
    const seen = recorder(storage);
    await storage.create(ctx, patient('a', { gender: 'female' }));
    await storage.update(ctx, patient('a', { gender: 'male' }));
    await storage.delete(ctx, 'Patient', 'a');
    t.equal(await storage.delete(ctx, 'Patient', 'a'), undefined, 'deleting nothing');
    await rejection(storage.create(ctx, patient('a')));
    await storage.update(ctx, patient('a', { gender: 'other' }));
    const expected = [
      [{ key: 'Patient/a/1', before: undefined, after: { gender: 'female', version: '1' } }],
      [{ key: 'Patient/a/2', before: { gender: 'female', version: '1' }, after: { gender: 'male', version: '2' } }],
      [{ key: 'Patient/a/3', before: { gender: 'male', version: '2' }, after: undefined }],
      [{ key: 'Patient/a/4', before: undefined, after: { gender: 'other', version: '4' } }],
    ];
    t.same(seen.inside.map((batch) => batch.map(summary)), expected, 'inside: each committed write, nothing for a delete of nothing or a 409');
    t.same(seen.after.map((batch) => batch.map(summary)), expected, 'after: the same, already when each write resolved');
  });

  rule('commit hooks: a unit of work is shown as one batch of exactly its changes', async (t, storage) => {
    await storage.create(ctx, patient('b', { gender: 'female' }));
    const seen = recorder(storage);
    await storage.unitOfWork(async (tx) => {
      await tx.create(ctx, patient('a', { gender: 'male' }));
      await tx.update(ctx, patient('b', { gender: 'male' }));
      await tx.read(ctx, 'Patient', 'a');
      t.equal(await tx.delete(ctx, 'Patient', 'c'), undefined);
    });
    const expected = [
      [
        { key: 'Patient/a/1', before: undefined, after: { gender: 'male', version: '1' } },
        { key: 'Patient/b/2', before: { gender: 'female', version: '1' }, after: { gender: 'male', version: '2' } },
      ],
    ];
    t.same(seen.inside.map((batch) => batch.map(summary)), expected);
    t.same(seen.after.map((batch) => batch.map(summary)), expected);
    await storage.unitOfWork(async (tx) => tx.read(ctx, 'Patient', 'a'));
    t.equal(seen.after.length, 1, 'a unit that writes nothing is not shown');
  });

  rule('commit hooks: a type filter shows only those types; unsubscribe stops the listener', async (t, storage) => {
    const seen = recorder(storage, ['Observation']);
    await storage.create(ctx, patient('a'));
    await storage.unitOfWork(async (tx) => {
      await tx.create(ctx, patient('b'));
      await tx.create(ctx, { resourceType: 'Observation', id: 'o', status: 'final', code: {} });
    });
    t.same(seen.after.map((batch) => batch.map((change) => `${change.resourceType}/${change.id}`)), [['Observation/o']]);
    seen.unsubscribe();
    await storage.create(ctx, { resourceType: 'Observation', id: 'p', status: 'final', code: {} });
    t.equal(seen.after.length, 1, 'not shown after unsubscribe');
  });

  rule('commit hooks: a veto inside rolls the whole unit back, and no after listener runs', async (t, storage) => {
    await storage.create(ctx, patient('b', { gender: 'female' }));
    const seen = recorder(storage);
    const veto = storage.onCommit!({
      types: ['Patient'],
      inside: (changes) => {
        if (changes.some((change) => change.after?.gender === 'unknown')) throw FhirError.of(409, 'conflict', 'vetoed');
      },
    });
    const unit = rejection(
      storage.unitOfWork(async (tx) => {
        await tx.create(ctx, patient('a'));
        await tx.update(ctx, patient('b', { gender: 'unknown' }));
      }),
    );
    t.match(await unit, { status: 409 }, 'the unit fails with the veto');
    t.match(await rejection(storage.update(ctx, patient('b', { gender: 'unknown' }))), { status: 409 }, 'a single write too');
    t.equal(await storage.read(ctx, 'Patient', 'a'), undefined, 'the unit’s create is rolled back');
    t.match(await storage.read(ctx, 'Patient', 'b'), { versionId: 1, resource: { gender: 'female' } }, 'its update too');
    t.equal(seen.inside.length, 2, 'inside listeners were shown both attempts');
    t.equal(seen.after.length, 0, 'after listeners never ran');
    veto();
    await storage.update(ctx, patient('b', { gender: 'unknown' }));
    t.match(await storage.read(ctx, 'Patient', 'b'), { versionId: 2 }, 'the same write commits once the veto is gone: versions have no gap');
  });

  rule('commit hooks: an outbox row written inside commits with the change, and vanishes on rollback', async (t, storage) => {
    let failAfterOutbox = false;
    storage.onCommit!({
      types: ['Patient'],
      inside: async (changes, tx) => {
        for (const change of changes) {
          await tx.create(ctx, { resourceType: 'Basic', id: `event-${change.id}-${change.versionId}`, code: { text: 'outbox' } });
        }
        if (failAfterOutbox) throw FhirError.of(422, 'processing', 'vetoed after the outbox row');
      },
    });
    const seen = recorder(storage);
    await storage.create(ctx, patient('a'));
    t.match(await storage.read(ctx, 'Basic', 'event-a-1'), { versionId: 1 }, 'the row committed with the change');
    t.same(seen.after.map((batch) => batch.map((change) => change.resourceType)), [['Patient']], 'the row is shown to no listener');
    failAfterOutbox = true;
    t.match(await rejection(storage.update(ctx, patient('a', { gender: 'male' }))), { status: 422 });
    t.equal(await storage.read(ctx, 'Basic', 'event-a-2'), undefined, 'the row of a rolled-back change is gone');
    t.match(await storage.read(ctx, 'Patient', 'a'), { versionId: 1 }, 'and so is the change');
  });

  rule('commit hooks: an after listener that fails does not fail the write', async (t, storage) => {
    const reported: string[] = [];
    const warn = (warning: Error) => reported.push(warning.message);
    process.on('warning', warn);
    t.teardown(() => process.off('warning', warn));
    storage.onCommit!({ after: () => Promise.reject(new Error('reaction failed')) });
    storage.onCommit!({
      after: () => {
        throw new Error('reaction threw');
      },
    });
    const created = await storage.create(ctx, patient('a'));
    t.equal(created.versionId, 1, 'the write succeeded');
    t.match(await storage.read(ctx, 'Patient', 'a'), { versionId: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    t.same(reported.sort(), ['A commit listener failed after commit: reaction failed', 'A commit listener failed after commit: reaction threw']);
  });

  rule('commit hooks: parallel writes each notify exactly once', async (t, storage) => {
    const seen = recorder(storage);
    const writers = 20;
    await Promise.all([
      ...Array.from({ length: writers }, (_, i) => storage.create(ctx, patient(`p${i}`))),
      ...Array.from({ length: writers }, (_, i) =>
        storage.unitOfWork(async (tx) => {
          await tx.create(ctx, patient(`u${i}`));
          await tx.create(ctx, { resourceType: 'Observation', id: `u${i}`, status: 'final', code: {} });
        }),
      ),
    ]);
    // The same resource updated in parallel: versions 2..21, each shown once.
    await Promise.all(Array.from({ length: writers }, (_, i) => storage.update(ctx, patient('p0', { gender: i % 2 ? 'male' : 'female' }))));
    const keys = (batches: CommittedChange[][]) => batches.flat().map((change) => `${change.resourceType}/${change.id}/${change.versionId}`);
    const expected = [
      ...Array.from({ length: writers }, (_, i) => `Patient/p${i}/1`),
      ...Array.from({ length: writers }, (_, i) => [`Patient/u${i}/1`, `Observation/u${i}/1`]).flat(),
      ...Array.from({ length: writers }, (_, i) => `Patient/p0/${i + 2}`),
    ].sort();
    t.same(keys(seen.after).sort(), expected, 'after: every change exactly once');
    t.same(keys(seen.inside).sort(), expected, 'inside: every change exactly once');
    t.equal(seen.after.length, 3 * writers, 'one batch per write or unit');
    const versions = new Map(seen.after.flat().map((change) => [`${change.id}/${change.versionId}`, change]));
    for (let v = 3; v <= writers + 1; v++) {
      t.equal(versions.get(`p0/${v}`)?.before?.meta?.versionId, String(v - 1), `version ${v}’s before is version ${v - 1}`);
    }
  });
}
