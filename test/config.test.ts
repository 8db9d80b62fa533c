import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../src/config';
import { DEFAULT_EXPORT_SETTINGS } from '../src/export/service';

/** What loadConfig throws for this environment (undefined when it accepts it). */
function configErrorOf(env: Record<string, string>): unknown {
  try {
    loadConfig(env);
  } catch (error) {
    return error;
  }
  return undefined;
}

t.test('defaults', async (t) => {
  const config = loadConfig({});
  t.equal(config.port, 8080);
  t.equal(config.host, '127.0.0.1');
  t.equal(config.baseUrl, 'http://127.0.0.1:8080/fhir');
  t.equal(config.basePath, '/fhir');
  t.equal(config.sqlitePath, './data/concord.db');
  t.equal(config.mongodbUri, undefined);
  t.equal(config.mongodbDb, 'concord');
  t.equal(config.logLevel, 'info');
  t.equal(config.maxBodyBytes, 10 * 1024 * 1024);
  t.equal(config.sqliteCacheMb, 64);
  t.same(config.referentialIntegrity, { mode: 'strict', exemptTypes: [] });
});

t.test('REFERENTIAL_INTEGRITY and its exempt types', async (t) => {
  const config = loadConfig({ REFERENTIAL_INTEGRITY: 'off', REFERENTIAL_INTEGRITY_EXEMPT_TYPES: ' Practitioner, Organization ,' });
  t.same(config.referentialIntegrity, { mode: 'off', exemptTypes: ['Practitioner', 'Organization'] });
  t.throws(() => loadConfig({ REFERENTIAL_INTEGRITY: 'loose' }), /REFERENTIAL_INTEGRITY/);
  t.throws(() => loadConfig({ REFERENTIAL_INTEGRITY_EXEMPT_TYPES: 'Practitioner,Doctor' }), /REFERENTIAL_INTEGRITY_EXEMPT_TYPES.*Doctor/);
});

t.test('values from the environment', async (t) => {
  const config = loadConfig({ PORT: '9000', HOST: '0.0.0.0', BASE_URL: 'https://fhir.example.org/r4/', MONGODB_URI: 'mongodb://db:27017', SQLITE_PATH: ':memory:', MAX_BODY_BYTES: '2048', LOG_LEVEL: 'warn', SQLITE_CACHE_MB: '256' });
  t.equal(config.port, 9000);
  t.equal(config.baseUrl, 'https://fhir.example.org/r4', 'trailing slash dropped');
  t.equal(config.basePath, '/r4');
  t.equal(config.mongodbUri, 'mongodb://db:27017');
  t.equal(config.sqlitePath, ':memory:');
  t.equal(config.maxBodyBytes, 2048);
  t.equal(config.logLevel, 'warn');
  t.equal(config.sqliteCacheMb, 256);
});

t.test('an invalid value names the variable', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ BASE_URL: 'not a url' }, 'BASE_URL'],
    [{ BASE_URL: 'ftp://x/fhir' }, 'BASE_URL'],
    [{ BASE_URL: 'http://x' }, 'BASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MONGODB_URI: 'postgres://x' }, 'MONGODB_URI'],
    [{ MONGODB_DB: 'a/b' }, 'MONGODB_DB'],
    [{ MAX_BODY_BYTES: '1.5' }, 'MAX_BODY_BYTES'],
    [{ SQLITE_CACHE_MB: '1' }, 'SQLITE_CACHE_MB'],
  ];
  for (const [env, variable] of cases) {
    const thrown = configErrorOf(env);
    t.ok(thrown instanceof ConfigError, `${variable}: a ConfigError`);
    t.equal((thrown as ConfigError).variable, variable, `${variable}: names the variable`);
    t.match((thrown as ConfigError).message, new RegExp(`^${variable}: `), `${variable}: the message starts with it`);
  }
});

t.test('CLAIMS_AUTO_ADJUDICATE: false by default, true or false only', async (t) => {
  t.equal(loadConfig({}).claims.autoAdjudicate, false);
  t.equal(loadConfig({ CLAIMS_AUTO_ADJUDICATE: 'true' }).claims.autoAdjudicate, true);
  t.throws(() => loadConfig({ CLAIMS_AUTO_ADJUDICATE: 'yes' }), /CLAIMS_AUTO_ADJUDICATE/);
});

t.test('SUBSCRIPTION_WS_TOKEN_SECONDS: 3600 by default, whole seconds from 1 to a day', async (t) => {
  t.equal(loadConfig({}).subscriptions.wsTokenSeconds, 3600);
  t.equal(loadConfig({ SUBSCRIPTION_WS_TOKEN_SECONDS: '60' }).subscriptions.wsTokenSeconds, 60);
  t.throws(() => loadConfig({ SUBSCRIPTION_WS_TOKEN_SECONDS: '0' }), /SUBSCRIPTION_WS_TOKEN_SECONDS/);
  t.throws(() => loadConfig({ SUBSCRIPTION_WS_TOKEN_SECONDS: 'soon' }), /SUBSCRIPTION_WS_TOKEN_SECONDS/);
});

t.test('EXPORT_*: the defaults docs/bulk-export.md gives, the same as the export service’s own', async (t) => {
  const config = loadConfig({});
  t.same(
    { ...config.export, dir: undefined },
    { maxJobsPerClient: 2, maxJobs: 8, fileMaxResources: 100_000, retentionHours: 24, chunkSize: 250, dir: undefined },
  );
  for (const key of ['maxJobsPerClient', 'maxJobs', 'fileMaxResources', 'retentionHours', 'chunkSize'] as const) {
    t.equal(config.export[key], DEFAULT_EXPORT_SETTINGS[key], `${key} agrees with DEFAULT_EXPORT_SETTINGS`);
  }
  t.equal(config.export.dir, join('data', 'exports'), 'beside the SQLite file');
  t.equal(loadConfig({ SQLITE_PATH: ':memory:' }).export.dir, join('data', 'exports'), 'for :memory:, ./data/exports');
  t.equal(loadConfig({ SQLITE_PATH: '/srv/concord/db.sqlite' }).export.dir, '/srv/concord/exports');
  t.equal(loadConfig({ EXPORT_DIR: '/var/exports' }).export.dir, '/var/exports');
});

t.test('EXPORT_*: values taken, fractions of an hour for retention', async (t) => {
  const config = loadConfig({ EXPORT_MAX_JOBS_PER_CLIENT: '1', EXPORT_MAX_JOBS: '10000', EXPORT_FILE_MAX_RESOURCES: '1', EXPORT_RETENTION_HOURS: '0.5', EXPORT_CHUNK_RESOURCES: '1000' });
  t.same({ ...config.export, dir: undefined }, { maxJobsPerClient: 1, maxJobs: 10_000, fileMaxResources: 1, retentionHours: 0.5, chunkSize: 1000, dir: undefined });
  t.equal(loadConfig({ EXPORT_RETENTION_HOURS: '0.001' }).export.retentionHours, 0.001, 'a few seconds');
  t.equal(loadConfig({ EXPORT_RETENTION_HOURS: '8760' }).export.retentionHours, 8760, 'a year, the most');
});

t.test('EXPORT_*: rejected values name the variable', async (t) => {
  const cases: Array<[string, string]> = [
    ['EXPORT_MAX_JOBS_PER_CLIENT', '0'],
    ['EXPORT_MAX_JOBS_PER_CLIENT', '1001'],
    ['EXPORT_MAX_JOBS_PER_CLIENT', '1.5'],
    ['EXPORT_MAX_JOBS_PER_CLIENT', 'two'],
    ['EXPORT_MAX_JOBS', '0'],
    ['EXPORT_MAX_JOBS', '10001'],
    ['EXPORT_MAX_JOBS', '-1'],
    ['EXPORT_FILE_MAX_RESOURCES', '0'],
    ['EXPORT_FILE_MAX_RESOURCES', '100000001'],
    ['EXPORT_FILE_MAX_RESOURCES', '1e5'],
    ['EXPORT_RETENTION_HOURS', '0'],
    ['EXPORT_RETENTION_HOURS', '0.0'],
    ['EXPORT_RETENTION_HOURS', '-1'],
    ['EXPORT_RETENTION_HOURS', '.5'],
    ['EXPORT_RETENTION_HOURS', '1e3'],
    ['EXPORT_RETENTION_HOURS', 'a day'],
    ['EXPORT_RETENTION_HOURS', 'Infinity'],
    // Past what a Date can hold: every job would fail as it completes.
    ['EXPORT_RETENTION_HOURS', '1000000000000'],
    ['EXPORT_RETENTION_HOURS', '8760.5'],
    ['EXPORT_CHUNK_RESOURCES', '0'],
    ['EXPORT_CHUNK_RESOURCES', '1001'],
    ['EXPORT_CHUNK_RESOURCES', '250.0'],
  ];
  for (const [variable, value] of cases) {
    const thrown = configErrorOf({ [variable]: value });
    t.ok(thrown instanceof ConfigError, `${variable}=${value}: a ConfigError`);
    t.equal((thrown as ConfigError | undefined)?.variable, variable, `${variable}=${value}: names the variable`);
  }
});
