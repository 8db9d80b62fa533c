import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isResourceType } from './fhir/definitions';

/**
 * Server configuration from environment variables, validated once at start-up.
 * An invalid value stops the server with a one-line message naming the variable.
 */
/** What the write path checks of a written resource's references (src/interactions/reference-integrity.ts). */
export interface ReferentialIntegrity {
  mode: 'strict' | 'off';
  /** Target types whose references are not checked. */
  exemptTypes: readonly string[];
}

export interface Config {
  port: number;
  host: string;
  /** Without a trailing slash, e.g. `http://127.0.0.1:8080/fhir`. */
  baseUrl: string;
  /** The path prefix of the FHIR endpoint taken from baseUrl, e.g. `/fhir`. */
  basePath: string;
  mongodbUri?: string;
  mongodbDb: string;
  sqlitePath: string;
  sqliteCacheMb: number;
  logLevel: string;
  maxBodyBytes: number;
  /** Larger batch and transaction bundles are answered 413. */
  maxBundleEntries: number;
  auth: AuthConfig;
  /** `REFERENTIAL_INTEGRITY` and `REFERENTIAL_INTEGRITY_EXEMPT_TYPES` (src/interactions/reference-integrity.ts). */
  referentialIntegrity: ReferentialIntegrity;
  scheduling: SchedulingConfig;
  claims: ClaimsConfig;
  subscriptions: SubscriptionConfig;
  /** Bulk Data export (src/export/, docs/bulk-export.md). */
  export: ExportConfig;
}

/** `EXPORT_*`: the limits, file size, retention and folder of Bulk Data export jobs. */
export interface ExportConfig {
  maxJobsPerClient: number;
  maxJobs: number;
  fileMaxResources: number;
  retentionHours: number;
  /** `EXPORT_CHUNK_RESOURCES`: resources per chunk (one search page); smaller chunks let requests interleave more finely. */
  chunkSize: number;
  /** Where the NDJSON files are written (PHI at rest): `EXPORT_DIR`, else `exports` beside the SQLite file. */
  dir: string;
}

/** Subscription delivery (src/subscriptions/, docs/subscriptions.md). */
export interface SubscriptionConfig {
  /** `SUBSCRIPTION_ENDPOINT_ALLOWLIST`: URL prefixes allowed even over http or on private addresses; when set, the only ones. */
  endpointAllowlist: readonly string[];
  /** `SUBSCRIPTION_MAX_ATTEMPTS`: attempts per notification, the first included, before the subscription goes to error. */
  maxAttempts: number;
  /** `SUBSCRIPTION_RETRY_BASE_MS`: the first retry's delay (the spec's 1 s), doubling at each further attempt. */
  retryBaseMs: number;
  /** `SUBSCRIPTION_TIMEOUT_MS`: a rest-hook POST's time limit when the subscription sets no backport-timeout. */
  timeoutMs: number;
  /** `SUBSCRIPTION_WS_TOKEN_SECONDS`: how long a `$get-ws-binding-token` token, and the binding it makes, lasts. Optional: absent, 3600. */
  wsTokenSeconds?: number;
}

/** `Claim/$submit` (docs/claims.md). */
export interface ClaimsConfig {
  /**
   * `CLAIMS_AUTO_ADJUDICATE` (default false): answer `complete` at once, each
   * item's benefit at its net, for a Claim that passes every check. A real
   * insurer decides; this is for demonstrations and tests.
   */
  autoAdjudicate: boolean;
}

/** Appointment scheduling (docs/scheduling.md). */
export interface SchedulingConfig {
  /** `SCHEDULING_HOLD_SECONDS`: how long a `$hold` keeps its Slots before it lapses. */
  holdSeconds: number;
}

export const DEFAULT_HOLD_SECONDS = 600;

/** SMART security settings (src/security/auth/); files are read when the server starts. */
export interface AuthConfig {
  /** `off` only for local experiments: every request acts as the operator. */
  mode: 'on' | 'off';
  /** `AUTH_TRUSTED_ISSUERS`: JSON file listing external issuers and their keys. */
  trustedIssuersFile?: string;
  /** `AUTH_CLIENTS_FILE`: JSON file of Backend Services clients of `POST /auth/token`. */
  clientsFile?: string;
  /** `AUTH_SIGNING_KEY_FILE`: the server's PEM signing key; generated when missing. */
  signingKeyFile?: string;
  /** The authorization server (src/security/auth/, docs/authorization-server.md). */
  authorizationServer?: AuthorizationServerConfig;
}

/** Concord's own SMART App Launch authorization server: token lifetimes, sign-in throttling, CORS. */
export interface AuthorizationServerConfig {
  /** `AUTH_ACCESS_TOKEN_SECONDS`: lifetime of access tokens from the authorization code flow (3600). */
  accessTokenSeconds: number;
  /** `AUTH_LOGIN_MAX_FAILURES`: failed sign-ins per username or address before a lock (5). */
  loginMaxFailures: number;
  /** `AUTH_LOGIN_LOCK_SECONDS`: how long a lock refuses sign-ins (900). */
  loginLockSeconds: number;
  /** `TRUST_PROXY`: take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  /** `CORS_ORIGINS`: comma-separated origins of browser apps allowed to call the API and the token endpoint. */
  corsOrigins: string[];
}

export const DEFAULT_MAX_BUNDLE_ENTRIES = 10_000;
/** SQLite page cache per connection (the writer and the reader each have one), in MB. */
export const DEFAULT_SQLITE_CACHE_MB = 64;

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function text(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

function existingFile(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!existsSync(raw)) throw new ConfigError(name, `names a file that does not exist: "${raw}"`);
  return raw;
}

/** `strict` (default) checks every local reference on write; `off` is for loading data in an order the server cannot follow. */
function referentialIntegrity(env: Env): ReferentialIntegrity {
  const mode = text(env, 'REFERENTIAL_INTEGRITY', 'strict');
  if (mode !== 'strict' && mode !== 'off') throw new ConfigError('REFERENTIAL_INTEGRITY', `must be strict or off, got "${mode}"`);
  const exemptTypes = (env.REFERENTIAL_INTEGRITY_EXEMPT_TYPES ?? '')
    .split(',')
    .map((type) => type.trim())
    .filter((type) => type !== '');
  const bad = exemptTypes.find((type) => !isResourceType(type));
  if (bad !== undefined) throw new ConfigError('REFERENTIAL_INTEGRITY_EXEMPT_TYPES', `"${bad}" is not an R4 resource type`);
  return { mode, exemptTypes };
}

function claimsConfig(env: Env): ClaimsConfig {
  const value = text(env, 'CLAIMS_AUTO_ADJUDICATE', 'false');
  if (value !== 'true' && value !== 'false') throw new ConfigError('CLAIMS_AUTO_ADJUDICATE', `must be true or false, got "${value}"`);
  return { autoAdjudicate: value === 'true' };
}

function subscriptionConfig(env: Env): SubscriptionConfig {
  const endpointAllowlist = (env.SUBSCRIPTION_ENDPOINT_ALLOWLIST ?? '')
    .split(',')
    .map((prefix) => prefix.trim())
    .filter((prefix) => prefix !== '');
  for (const prefix of endpointAllowlist) {
    // A bare host prefix (`http://a.example`) would also allow `http://a.example.evil.net`.
    if (!/^https?:\/\/[^/]+\//.test(prefix)) throw new ConfigError('SUBSCRIPTION_ENDPOINT_ALLOWLIST', `each prefix must be an http(s) URL ending its host with "/", got "${prefix}"`);
  }
  return {
    endpointAllowlist,
    maxAttempts: integer(env, 'SUBSCRIPTION_MAX_ATTEMPTS', 10, 1, 100),
    retryBaseMs: integer(env, 'SUBSCRIPTION_RETRY_BASE_MS', 1000, 1, 3_600_000),
    timeoutMs: integer(env, 'SUBSCRIPTION_TIMEOUT_MS', 10_000, 100, 600_000),
    wsTokenSeconds: integer(env, 'SUBSCRIPTION_WS_TOKEN_SECONDS', 3600, 1, 86_400),
  };
}

/** A year: PHI at rest is kept no longer than that (and a Date can hold the expiry). */
const MAX_RETENTION_HOURS = 8760;

/**
 * Hours, fractions allowed (`0.5` is 30 minutes), at most `max`: an
 * unbounded value would put the expiry past the last instant a Date holds,
 * and every job would then fail as it completes.
 */
function hours(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0) throw new ConfigError(name, `must be a positive number of hours, got "${raw}"`);
  if (Number(raw) > max) throw new ConfigError(name, `must be at most ${max} hours, got ${raw}`);
  return Number(raw);
}

function exportConfig(env: Env, sqlitePath: string): ExportConfig {
  const beside = sqlitePath === ':memory:' ? './data' : dirname(sqlitePath);
  return {
    maxJobsPerClient: integer(env, 'EXPORT_MAX_JOBS_PER_CLIENT', 2, 1, 1000),
    maxJobs: integer(env, 'EXPORT_MAX_JOBS', 8, 1, 10_000),
    fileMaxResources: integer(env, 'EXPORT_FILE_MAX_RESOURCES', 100_000, 1, 100_000_000),
    retentionHours: hours(env, 'EXPORT_RETENTION_HOURS', 24, MAX_RETENTION_HOURS),
    chunkSize: integer(env, 'EXPORT_CHUNK_RESOURCES', 250, 1, 1000),
    dir: text(env, 'EXPORT_DIR', join(beside, 'exports')),
  };
}

function authConfig(env: Env): AuthConfig {
  const mode = text(env, 'AUTH_MODE', 'on');
  if (mode !== 'on' && mode !== 'off') throw new ConfigError('AUTH_MODE', `must be on or off, got "${mode}"`);
  // Switching security off must never reach a production deployment by accident.
  if (mode === 'off' && env.NODE_ENV === 'production') throw new ConfigError('AUTH_MODE', 'off is refused when NODE_ENV=production');
  return {
    mode,
    trustedIssuersFile: existingFile(env, 'AUTH_TRUSTED_ISSUERS'),
    clientsFile: existingFile(env, 'AUTH_CLIENTS_FILE'),
    signingKeyFile: env.AUTH_SIGNING_KEY_FILE || undefined,
    authorizationServer: authorizationServerConfig(env),
  };
}

function corsOrigins(env: Env): string[] {
  return (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '')
    .map((origin) => {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin such as https://app.example.org`);
      }
      if (url.origin !== origin.replace(/\/$/, '')) throw new ConfigError('CORS_ORIGINS', `"${origin}" must be an origin only (scheme, host, port)`);
      return url.origin;
    });
}

function authorizationServerConfig(env: Env): AuthorizationServerConfig {
  const trustProxy = text(env, 'TRUST_PROXY', 'false');
  if (trustProxy !== 'true' && trustProxy !== 'false') throw new ConfigError('TRUST_PROXY', `must be true or false, got "${trustProxy}"`);
  return {
    accessTokenSeconds: integer(env, 'AUTH_ACCESS_TOKEN_SECONDS', 3600, 60, 86_400),
    loginMaxFailures: integer(env, 'AUTH_LOGIN_MAX_FAILURES', 5, 1, 1000),
    loginLockSeconds: integer(env, 'AUTH_LOGIN_LOCK_SECONDS', 900, 1, 86_400),
    trustProxy: trustProxy === 'true',
    corsOrigins: corsOrigins(env),
  };
}

function parseBaseUrl(raw: string): { baseUrl: string; basePath: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('BASE_URL', `must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('BASE_URL', `must use http or https, got "${url.protocol}"`);
  }
  if (url.search || url.hash) throw new ConfigError('BASE_URL', 'must not have a query or fragment');
  const basePath = url.pathname.replace(/\/+$/, '');
  return { baseUrl: `${url.origin}${basePath}`, basePath };
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const host = text(env, 'HOST', '127.0.0.1');
  const { baseUrl, basePath } = parseBaseUrl(text(env, 'BASE_URL', `http://${host.includes(':') ? `[${host}]` : host}:${port}/fhir`));
  if (basePath === '') throw new ConfigError('BASE_URL', 'must have a path, e.g. http://host:8080/fhir');
  const logLevel = text(env, 'LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const mongodbUri = env.MONGODB_URI || undefined;
  if (mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    throw new ConfigError('MONGODB_URI', 'must start with mongodb:// or mongodb+srv://');
  }
  const mongodbDb = text(env, 'MONGODB_DB', 'concord');
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(mongodbDb)) throw new ConfigError('MONGODB_DB', `is not a valid database name: "${mongodbDb}"`);
  const sqlitePath = text(env, 'SQLITE_PATH', './data/concord.db');
  return {
    port,
    host,
    baseUrl,
    basePath,
    mongodbUri,
    mongodbDb,
    sqlitePath,
    sqliteCacheMb: integer(env, 'SQLITE_CACHE_MB', DEFAULT_SQLITE_CACHE_MB, 2, 4096),
    logLevel,
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    auth: authConfig(env),
    maxBundleEntries: integer(env, 'MAX_BUNDLE_ENTRIES', DEFAULT_MAX_BUNDLE_ENTRIES, 1, 1_000_000),
    referentialIntegrity: referentialIntegrity(env),
    scheduling: { holdSeconds: integer(env, 'SCHEDULING_HOLD_SECONDS', DEFAULT_HOLD_SECONDS, 10, 7 * 24 * 3600) },
    claims: claimsConfig(env),
    subscriptions: subscriptionConfig(env),
    export: exportConfig(env, sqlitePath),
  };
}
