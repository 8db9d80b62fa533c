import { ConfigError, loadConfig, type Config } from './config';
import { buildServer } from './http/server';
import { createAuth, type Auth } from './security/auth/auth-service';
import { consentAccessSource } from './security/consent';
import { createIndexer } from './search/indexer';
import { openExportJobs } from './storage/open-export-jobs';
import { openStorage } from './storage/open-storage';
import { createValidator } from './validation/validator';

/** Start-up: configuration, storage, HTTP; and an orderly stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: Config;
  let auth: Auth;
  try {
    config = loadConfig();
    auth = await createAuth({ ...config.auth, baseUrl: config.baseUrl, sqlitePath: config.sqlitePath });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`concord: invalid configuration: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const storage = await openStorage(config, createIndexer({ baseUrl: config.baseUrl }));
  const exportJobs = await openExportJobs(config);
  const app = buildServer({
    config,
    services: { storage, validator: createValidator(), referentialIntegrity: config.referentialIntegrity },
    auth,
    // The privacy layer: the patient's Consents, compiled into every query beside the scopes.
    accessSources: [consentAccessSource(storage, config.baseUrl)],
    exports: { jobs: exportJobs, settings: config.export },
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping: finishing in-flight requests');
    // close() stops accepting, waits for in-flight requests, then the database closes.
    await app.close();
    await exportJobs.close();
    await storage.close();
    app.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as { port: number };
  app.log.info({ baseUrl: config.baseUrl, port, storage: config.mongodbUri ? 'mongodb' : 'sqlite' }, 'Concord FHIR server ready');
}

main().catch((error: unknown) => {
  process.stderr.write(`concord: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
