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
  /** Bulk Data export (src/export/, docs/bulk-export.md). */
  export: ExportConfig;
}

/** `EXPORT_*`: the limits, file size, retention and folder of Bulk Data export jobs. */
export interface ExportConfig {
  maxJobsPerClient: number;
  maxJobs: number;
  fileMaxResources: number;
  retentionHours: number;
  /** Where the NDJSON files are written (PHI at rest): `EXPORT_DIR`, else `exports` beside the SQLite file. */
  dir: string;
}

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

/** Hours, fractions allowed (`0.5` is 30 minutes). */
function hours(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0) throw new ConfigError(name, `must be a positive number of hours, got "${raw}"`);
  return Number(raw);
}

function exportConfig(env: Env, sqlitePath: string): ExportConfig {
  const beside = sqlitePath === ':memory:' ? './data' : dirname(sqlitePath);
  return {
    maxJobsPerClient: integer(env, 'EXPORT_MAX_JOBS_PER_CLIENT', 2, 1, 1000),
    maxJobs: integer(env, 'EXPORT_MAX_JOBS', 8, 1, 10_000),
    fileMaxResources: integer(env, 'EXPORT_FILE_MAX_RESOURCES', 100_000, 1, 100_000_000),
    retentionHours: hours(env, 'EXPORT_RETENTION_HOURS', 24),
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
    export: exportConfig(env, sqlitePath),
  };
}
