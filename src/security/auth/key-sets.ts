import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../../config';

/** How long fetched keys are trusted before a refetch, and the least time between two fetches. */
export const REMOTE_JWKS_MAX_AGE_MS = 10 * 60_000;
export const REMOTE_JWKS_COOLDOWN_MS = 30_000;

/** Fetch limits of remote key sets; tests shorten the cooldown. */
export interface RemoteKeyOptions {
  cooldownMs?: number;
}

export interface KeySource {
  jwks?: unknown;
  jwksFile?: string;
  jwksUri?: string;
}

function readJson(variable: string, path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(variable, `${path} is not a readable JSON file: ${(error as Error).message}`);
  }
}

function localSet(variable: string, jwks: unknown, where: string): JWTVerifyGetKey {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new ConfigError(variable, `${where} is not a JWK set ({"keys": [...]})`);
  return createLocalJWKSet(jwks as JSONWebKeySet);
}

/**
 * The key lookup for one issuer or client. A remote set is fetched on first
 * use and cached; a token whose `kid` is not in the cache triggers a refetch
 * (key rotation), at most once per cooldown so that made-up kids cannot turn
 * the server into a request amplifier.
 */
export function keySet(variable: string, source: KeySource, where: string, remote: RemoteKeyOptions = {}): JWTVerifyGetKey {
  const given = [source.jwks, source.jwksFile, source.jwksUri].filter((value) => value !== undefined).length;
  if (given !== 1) throw new ConfigError(variable, `${where} needs exactly one of jwks, jwksFile or jwksUri`);
  if (source.jwks !== undefined) return localSet(variable, source.jwks, where);
  if (source.jwksFile !== undefined) {
    if (typeof source.jwksFile !== 'string') throw new ConfigError(variable, `${where}: jwksFile must be a path`);
    return localSet(variable, readJson(variable, source.jwksFile), source.jwksFile);
  }
  let url: URL;
  try {
    url = new URL(String(source.jwksUri));
  } catch {
    throw new ConfigError(variable, `${where}: jwksUri is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(variable, `${where}: jwksUri must be http(s)`);
  return createRemoteJWKSet(url, { cacheMaxAge: REMOTE_JWKS_MAX_AGE_MS, cooldownDuration: remote.cooldownMs ?? REMOTE_JWKS_COOLDOWN_MS, timeoutDuration: 5_000 });
}

/** A JSON array from a configuration file, or a one-line error naming the variable. */
export function readJsonArray(variable: string, path: string): Array<Record<string, unknown>> {
  const value = readJson(variable, path);
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'object' || entry === null || Array.isArray(entry))) {
    throw new ConfigError(variable, `${path} must hold a JSON array of objects`);
  }
  return value as Array<Record<string, unknown>>;
}
