import { checkInOperation } from './check-in';
import { bookOperation, holdOperation } from './appointment-book';
import { findOperation } from './appointment-find';
import { bulkPublishOperation } from './bulk-publish';
import { evaluateOperation } from './consent-evaluate';
import type { OperationDescriptor, OperationLevel } from './descriptor';
import { everythingOperation } from './everything';
import { extractOperation } from './extract';
import { exportOperation } from './export';
import { matchOperation } from './match';
import { populateOperation } from './populate';
import { subscriptionEventsOperation } from './subscription-events';
import { subscriptionStatusOperation } from './subscription-status';
import { subscriptionWsBindingTokenOperation } from './subscription-ws-binding-token';
import { validateOperation } from './validate';
import { submitOperation } from './claim-submit';
import { memberMatchOperation } from './member-match';

/**
 * Every operation this server answers. The route table makes their routes,
 * the CapabilityStatement lists them, from this list alone.
 */
const LEVELS: readonly OperationLevel[] = ['system', 'type', 'instance'];

const OPERATIONS: OperationDescriptor[] = [
  validateOperation,
  everythingOperation,
  matchOperation,
  evaluateOperation,
  populateOperation,
  extractOperation,
  checkInOperation,
  findOperation,
  holdOperation,
  bookOperation,
  bulkPublishOperation,
  submitOperation,
  memberMatchOperation,
  subscriptionStatusOperation,
  subscriptionEventsOperation,
  subscriptionWsBindingTokenOperation,
  exportOperation,
];

export function operations(): readonly OperationDescriptor[] {
  return OPERATIONS;
}

/** The levels an operation is invoked at, in the order system, type, instance. */
export function operationLevels(operation: OperationDescriptor): OperationLevel[] {
  return LEVELS.filter((level) => operation.get.includes(level) || operation.post.includes(level));
}

/** The methods that invoke it at `level`. */
export function operationMethods(operation: OperationDescriptor, level: OperationLevel): Array<'GET' | 'POST'> {
  return [...(operation.get.includes(level) ? (['GET'] as const) : []), ...(operation.post.includes(level) ? (['POST'] as const) : [])];
}

/** The operations of `list` defined on `type` at type or instance level (those on every type included), for the CapabilityStatement. */
export function operationsOn(list: readonly OperationDescriptor[], type: string): OperationDescriptor[] {
  return list.filter((op) => operationLevels(op).some((level) => level !== 'system') && (op.resourceTypes === '*' || op.resourceTypes.includes(type)));
}
