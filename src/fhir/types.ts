// The FHIR R4 shapes used at the edges of Concord. Everything inside the server
// treats a resource as a plain JSON object with at least `resourceType`.
export type {
  Resource,
  DomainResource,
  Bundle,
  BundleEntry,
  OperationOutcome,
  OperationOutcomeIssue,
  CapabilityStatement,
  Parameters,
  Binary,
  Meta,
  Patient,
  Consent,
} from 'fhir/r4';

import type { Resource } from 'fhir/r4';

/** Any resource as parsed from JSON: its type is known only at run time. */
export type AnyResource = Resource & { [key: string]: unknown };
