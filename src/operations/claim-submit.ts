import { submitClaim } from '../claims/submit';
import type { OperationDescriptor, OperationParameter } from './descriptor';

/** The parameters of `Claim/$submit` (claim-operation-submit.html). */
const SUBMIT_PARAMETERS: readonly OperationParameter[] = [
  {
    name: 'resource',
    type: 'Resource',
    min: 1,
    max: 1,
    documentation: 'The Claim, or a collection Bundle whose first entry is the Claim followed by the resources it references',
  },
];

/**
 * `POST Claim/$submit`: the Claim's provider (or the operator) with Claim
 * create rights submits it; the answer is its ClaimResponse (src/claims/submit.ts).
 * It writes, so in a bundle it is admitted and ordered as a write.
 */
export const submitOperation: OperationDescriptor = {
  code: 'submit',
  definition: 'http://hl7.org/fhir/OperationDefinition/Claim-submit',
  documentation:
    'Checks, stores and queues a Claim (or a collection Bundle starting with it) for its insurer; answers a ClaimResponse (queued, error, or complete with CLAIMS_AUTO_ADJUDICATE), or a Bundle starting with it. Resubmission by identifier is idempotent, a correction, or a cancel (status cancelled). See docs/claims.md.',
  resourceTypes: ['Claim'],
  affectsState: true,
  get: [],
  post: ['type'],
  permissions: { type: ['c'] },
  parameters: SUBMIT_PARAMETERS,
  handler: async (services, ctx, { resource }) => ({ body: await submitClaim(services, ctx, resource) }),
};
