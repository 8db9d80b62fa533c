import { systemContext } from '../../context';
import type { Storage, VersionRecord } from '../../storage/port';

/**
 * The stored resource a request named (by its URL or a write's Location),
 * read as the operator: a write answered without a body, a delete (the
 * version before the tombstone), a denied or hidden read. Only its
 * reference and compartment go into the audit record.
 */
export async function namedResource(storage: Storage, baseUrl: string, requestId: string, type: string, id: string): Promise<VersionRecord | undefined> {
  const ctx = systemContext(baseUrl, requestId);
  const current = await storage.read(ctx, type, id);
  if (!current || !current.deleted || current.versionId < 2) return current;
  return storage.vread(ctx, type, id, current.versionId - 1);
}
