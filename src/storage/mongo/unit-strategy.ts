import { FhirError } from '../../errors';
import type { UnitOfWorkOptions } from '../port';
import { unitGuardKey } from './guard-key';

/**
 * How a unit of work runs on this topology (see MongoStorage):
 * - `transaction`: a replica set; with a guard, its lock document is written first;
 * - `lease`: standalone with a guard: under the guard's lease, without a transaction.
 * Standalone without a guard has no safe way to run: 501.
 */
export type UnitStrategy = { kind: 'transaction'; guardKey?: string } | { kind: 'lease'; guardKey: string };

export function unitStrategy(supportsTransactions: boolean, options: UnitOfWorkOptions = {}): UnitStrategy {
  const guardKey = options.guard === undefined ? undefined : unitGuardKey(options.guard);
  if (supportsTransactions) return guardKey === undefined ? { kind: 'transaction' } : { kind: 'transaction', guardKey };
  if (guardKey !== undefined) return { kind: 'lease', guardKey };
  throw transactionsUnsupported();
}

const transactionsUnsupported = () =>
  new FhirError(501, [
    {
      severity: 'error',
      code: 'not-supported',
      diagnostics:
        'Transactions are not available: the MongoDB server is standalone, and multi-document transactions need a replica set (a single-node replica set will do)',
    },
  ]);
