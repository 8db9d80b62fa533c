/**
 * A Bulk Data export job (Bulk Data Access IG 2.0.0, export.html): what was
 * asked for, as of which instant, by whom, and what came out. It is stored as
 * one JSON document (src/storage/export-jobs.ts), so everything here is plain data.
 */
import type { ActorType, Principal } from '../context';
import { parseScopes } from '../security/scopes/parse-scopes';

export type ExportLevel = 'system' | 'patient' | 'group';

/** What the kick-off asked for, validated (kickoff.ts). */
export interface ExportRequest {
  level: ExportLevel;
  /** The Group of a Group-level export. */
  groupId?: string;
  /** The kick-off URL, for the manifest's `request`. */
  requestUrl: string;
  /** The types to export, in order. */
  types: string[];
  /** `_typeFilter` queries per type (without the `Type?`), ORed. */
  typeFilters: Record<string, string[]>;
  /** `_since`, as a stored instant. */
  since?: string;
  elements?: string[];
  /** The patients to export at the Patient or Group level (ids), when the kick-off narrowed them; the Group's members otherwise. */
  patients?: string[];
  /** `includeAssociatedData=LatestProvenanceResources`. */
  latestProvenance: boolean;
  /** What a lenient kick-off ignored, and the `patient`s left out: the manifest's `error` file. */
  problems: string[];
}

export interface OutputFile {
  type: string;
  /** The file's name in the job's folder. */
  name: string;
  count: number;
}

/** A principal as plain data: the scopes as the token wrote them, parsed again when the job runs. */
export type StoredPrincipal =
  | { kind: 'operator'; token?: { issuer: string; clientId?: string; subject?: string; scope: string } }
  | {
      kind: 'user';
      token: { issuer: string; clientId?: string; subject?: string; scope: string };
      fhirUser: string;
      actorType: ActorType;
      patient?: string;
      purpose: string;
    };

export interface ExportJob extends ExportRequest {
  id: string;
  owner: string;
  principal: StoredPrincipal;
  /** The caller's address at kick-off, for the AuditEvents written when the job finishes. */
  networkAddress: string;
  /** The snapshot's instant: nothing committed after it is exported. */
  transactionTime: string;
  state: 'running' | 'completed' | 'failed';
  output: OutputFile[];
  /** The file of the Bundle of DELETE requests (`_since` only), and the error file. */
  deletedFile?: OutputFile;
  errorFile?: OutputFile;
  completedAt?: string;
  /** When the job and its files are deleted. */
  expiresAt?: string;
  /** Why the job failed (no patient data). */
  failure?: string;
}

/**
 * Who a job belongs to: the token's issuer and subject (two operator tokens
 * with different subjects are two principals). The operator without a
 * token (AUTH_MODE=off) is one principal.
 */
export function ownerOf(principal: Principal): string {
  const token = principal.token;
  if (!token) return 'operator';
  return JSON.stringify([token.issuer, token.subject ?? token.clientId ?? '']);
}

export function storePrincipal(principal: Principal): StoredPrincipal {
  const tokenOf = (token: NonNullable<Principal['token']>) => ({
    issuer: token.issuer,
    ...(token.clientId !== undefined ? { clientId: token.clientId } : {}),
    ...(token.subject !== undefined ? { subject: token.subject } : {}),
    scope: token.scopes.map((scope) => scope.text).join(' '),
  });
  if (principal.kind === 'operator') return principal.token ? { kind: 'operator', token: tokenOf(principal.token) } : { kind: 'operator' };
  const { fhirUser, actorType, patient, purpose } = principal;
  return { kind: 'user', token: tokenOf(principal.token), fhirUser, actorType, ...(patient !== undefined ? { patient } : {}), purpose };
}

export function restorePrincipal(stored: StoredPrincipal, baseUrl: string): Principal {
  const tokenOf = (token: NonNullable<StoredPrincipal['token']>) => {
    const { scope, ...rest } = token;
    return { ...rest, scopes: parseScopes(scope, baseUrl) };
  };
  if (stored.kind === 'operator') return stored.token ? { kind: 'operator', token: tokenOf(stored.token) } : { kind: 'operator' };
  return { ...stored, token: tokenOf(stored.token) };
}
