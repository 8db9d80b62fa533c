import { applyPatch, JsonPatchError, type Operation } from 'fast-json-patch';
import { badRequest, FhirError } from '../errors';
import type { AnyResource } from './types';

/** Errors of a well-formed patch that cannot apply to this resource. */
const CANNOT_APPLY = new Set(['TEST_OPERATION_FAILED', 'OPERATION_PATH_UNRESOLVABLE', 'OPERATION_FROM_UNRESOLVABLE', 'OPERATION_PATH_CANNOT_ADD', 'OPERATION_VALUE_OUT_OF_BOUNDS']);

/**
 * Applies an RFC 6902 JSON Patch to a copy of the resource. A malformed patch
 * document is 400; a well-formed patch that cannot apply (a failed `test`, a
 * missing path) is 422, since the request was understood but cannot be done.
 * Everything thrown here comes from client input, so nothing escapes as a 500.
 */
export function applyJsonPatch(resource: AnyResource, patch: Operation[]): AnyResource {
  if (!Array.isArray(patch) || patch.length === 0) {
    throw badRequest('A JSON Patch body must be a non-empty array of operations');
  }
  try {
    // validate = true checks each operation's shape; mutate = false works on a copy;
    // the library also refuses __proto__ and constructor paths.
    return applyPatch(resource, patch, true, false).newDocument as AnyResource;
  } catch (error) {
    const first = error instanceof Error ? error.message.split('\n')[0] : 'invalid patch';
    if (error instanceof JsonPatchError) {
      const where = typeof error.index === 'number' ? ` (operation ${error.index})` : '';
      const message = `JSON Patch${where}: ${first}`;
      throw CANNOT_APPLY.has(error.name) ? FhirError.of(422, 'processing', message) : badRequest(message);
    }
    throw badRequest(`JSON Patch: ${first}`);
  }
}
