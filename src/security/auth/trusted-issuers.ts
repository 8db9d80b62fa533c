import type { JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../../config';
import { keySet, readJsonArray, type KeySource, type RemoteKeyOptions } from './key-sets';

/** Issuer URL → its keys. */
export type TrustedIssuers = ReadonlyMap<string, JWTVerifyGetKey>;

const VARIABLE = 'AUTH_TRUSTED_ISSUERS';

/** `[{"issuer": "https://idp.example.org", "jwksFile": "..."} | {"issuer": ..., "jwksUri": "..."}]` */
export function loadTrustedIssuers(path: string | undefined, remote: RemoteKeyOptions = {}): TrustedIssuers {
  const issuers = new Map<string, JWTVerifyGetKey>();
  if (path === undefined) return issuers;
  for (const [index, entry] of readJsonArray(VARIABLE, path).entries()) {
    const where = `entry ${index}`;
    if (typeof entry.issuer !== 'string' || entry.issuer === '') throw new ConfigError(VARIABLE, `${where} needs an "issuer"`);
    if (issuers.has(entry.issuer)) throw new ConfigError(VARIABLE, `${where}: issuer ${entry.issuer} is listed twice`);
    // Keys inlined in the file are not part of the documented format: files or URIs only.
    const source: KeySource = { jwksFile: entry.jwksFile as string | undefined, jwksUri: entry.jwksUri as string | undefined };
    issuers.set(entry.issuer, keySet(VARIABLE, source, `${where} (${entry.issuer})`, remote));
  }
  return issuers;
}
