import type { JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../../config';
import { keySet, readJsonArray } from './key-sets';

/** A SMART Backend Services client registered in `AUTH_CLIENTS_FILE`. */
export interface RegisteredClient {
  clientId: string;
  keys: JWTVerifyGetKey;
  /** Space-separated scopes the client may be granted. */
  allowedScopes: string[];
  /** The actor the client's tokens act as (`fhirUser` claim), e.g. `Organization/payer-1`. */
  fhirUser?: string;
}

const VARIABLE = 'AUTH_CLIENTS_FILE';

/** `[{"clientId": "...", "jwks": {"keys": [...]} | "jwksUri": "...", "scope": "...", "fhirUser": "Organization/x"}]` */
export function loadClients(path: string | undefined): ReadonlyMap<string, RegisteredClient> {
  const clients = new Map<string, RegisteredClient>();
  if (path === undefined) return clients;
  for (const [index, entry] of readJsonArray(VARIABLE, path).entries()) {
    const where = `entry ${index}`;
    const { clientId, scope, fhirUser } = entry;
    if (typeof clientId !== 'string' || clientId === '') throw new ConfigError(VARIABLE, `${where} needs a "clientId"`);
    if (clients.has(clientId)) throw new ConfigError(VARIABLE, `${where}: clientId ${clientId} is listed twice`);
    if (typeof scope !== 'string') throw new ConfigError(VARIABLE, `${where} (${clientId}) needs "scope", the scopes it may be granted`);
    if (fhirUser !== undefined && typeof fhirUser !== 'string') throw new ConfigError(VARIABLE, `${where} (${clientId}): fhirUser must be a reference`);
    const keys = keySet(VARIABLE, { jwks: entry.jwks, jwksUri: entry.jwksUri as string | undefined }, `${where} (${clientId})`);
    clients.set(clientId, { clientId, keys, allowedScopes: scope.split(/\s+/).filter(Boolean), fhirUser });
  }
  return clients;
}
