import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import type { JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../../config';
import { keySet, readJsonArray } from './key-sets';

/**
 * How a client authenticates at the token endpoint (SMART App Launch 2.2,
 * "client-public", "client-confidential-symmetric", "client-confidential-asymmetric").
 */
export type ClientType = 'public' | 'confidential-symmetric' | 'confidential-asymmetric';

/** A client registered in `AUTH_CLIENTS_FILE` (or built in, like the privacy page). */
export interface RegisteredClient {
  clientId: string;
  type: ClientType;
  /** Shown to the patient on the approval screen. */
  name: string;
  /** private_key_jwt keys (confidential-asymmetric only). */
  keys?: JWTVerifyGetKey;
  /** SHA-256 of the client secret (confidential-symmetric only): the secret itself is never kept. */
  secretHash?: Buffer;
  /** Exact-match redirect URIs of the authorization code flow; empty: Backend Services only. */
  redirectUris: string[];
  /** Space-separated scopes the client may ever be granted. */
  allowedScopes: string[];
  /** The actor the client's Backend Services tokens act as (`fhirUser` claim), e.g. `Organization/payer-1`. */
  fhirUser?: string;
}

const VARIABLE = 'AUTH_CLIENTS_FILE';
const TYPES: readonly ClientType[] = ['public', 'confidential-symmetric', 'confidential-asymmetric'];

export const secretDigest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

function redirectUris(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((uri) => typeof uri !== 'string')) throw new ConfigError(VARIABLE, `${where}: redirectUris must be an array of URLs`);
  for (const uri of value as string[]) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new ConfigError(VARIABLE, `${where}: redirect URI "${uri}" is not an absolute URL`);
    }
    // RFC 6749 section 3.1.2: no fragment.
    if (url.hash) throw new ConfigError(VARIABLE, `${where}: redirect URI "${uri}" must not have a fragment`);
  }
  return value as string[];
}

/** One entry of the file; without `type` it is a Backend Services client (private_key_jwt), as before the type existed. */
function parseEntry(entry: Record<string, unknown>, where: string): RegisteredClient {
  const { clientId, scope, fhirUser, name, secret } = entry;
  if (typeof clientId !== 'string' || clientId === '') throw new ConfigError(VARIABLE, `${where} needs a "clientId"`);
  const at = `${where} (${clientId})`;
  const type = (entry.type ?? 'confidential-asymmetric') as ClientType;
  if (!TYPES.includes(type)) throw new ConfigError(VARIABLE, `${at}: type must be one of ${TYPES.join(', ')}`);
  if (typeof scope !== 'string') throw new ConfigError(VARIABLE, `${at} needs "scope", the scopes it may be granted`);
  if (fhirUser !== undefined && typeof fhirUser !== 'string') throw new ConfigError(VARIABLE, `${at}: fhirUser must be a reference`);
  if (name !== undefined && typeof name !== 'string') throw new ConfigError(VARIABLE, `${at}: name must be a string`);
  const uris = redirectUris(entry.redirectUris, at);
  const client: RegisteredClient = { clientId, type, name: name ?? clientId, redirectUris: uris, allowedScopes: scope.split(/\s+/).filter(Boolean), fhirUser };
  if (type !== 'confidential-asymmetric' && uris.length === 0) throw new ConfigError(VARIABLE, `${at}: a ${type} client needs redirectUris`);
  if (type === 'confidential-symmetric') {
    if (typeof secret !== 'string' || secret.length < 16) throw new ConfigError(VARIABLE, `${at} needs a "secret" of at least 16 characters`);
    client.secretHash = secretDigest(secret);
  } else if (secret !== undefined) {
    throw new ConfigError(VARIABLE, `${at}: only a confidential-symmetric client has a secret`);
  }
  if (type === 'confidential-asymmetric') client.keys = keySet(VARIABLE, { jwks: entry.jwks, jwksUri: entry.jwksUri as string | undefined }, at);
  else if (entry.jwks !== undefined || entry.jwksUri !== undefined) throw new ConfigError(VARIABLE, `${at}: only a confidential-asymmetric client has keys`);
  return client;
}

/** `[{"clientId", "type", "name", "redirectUris", "scope", "secret" | "jwks" | "jwksUri", "fhirUser"}]` */
export function loadClients(path: string | undefined): Map<string, RegisteredClient> {
  const clients = new Map<string, RegisteredClient>();
  if (path === undefined) return clients;
  for (const [index, entry] of readJsonArray(VARIABLE, path).entries()) {
    const client = parseEntry(entry, `entry ${index}`);
    if (clients.has(client.clientId)) throw new ConfigError(VARIABLE, `entry ${index}: clientId ${client.clientId} is listed twice`);
    clients.set(client.clientId, client);
  }
  return clients;
}

/** A warning when the clients file (which may hold secrets) can be read by users other than its owner. */
export function clientsFileWarning(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const mode = statSync(path).mode;
  return (mode & 0o077) !== 0
    ? `AUTH_CLIENTS_FILE ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}): it may hold client secrets, chmod 600 it`
    : undefined;
}
