import { ConfigError, loadConfig, type Config } from './config';
import { buildServer } from './http/server';
import { createAuth, type Auth } from './security/auth/auth-service';
import { consentAccessSource } from './security/consent';
import { createIndexer } from './search/indexer';
import { openAccountStore } from './storage/accounts/open';
import type { AccountStore } from './storage/accounts/port';
import { openExportJobs } from './storage/open-export-jobs';
import { openStorage } from './storage/open-storage';
import { installWebSocket } from './http/websocket';
import { BindingTokens, ownershipAccessSource, startSubscriptions, subscriptionsUnavailable, WebSocketChannel } from './subscriptions';
import { createValidator } from './validation/validator';

/** Start-up: configuration, storage, HTTP; and an orderly stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: Config;
  let auth: Auth;
  let accounts: AccountStore;
  try {
    config = loadConfig();
    // The authorization server's users and refresh tokens, beside the resources (same SQLITE_PATH or MONGODB_URI).
    accounts = await openAccountStore(config);
    auth = await createAuth({ ...config.auth, baseUrl: config.baseUrl, sqlitePath: config.sqlitePath, accounts });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`concord: invalid configuration: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const storage = await openStorage(config, createIndexer({ baseUrl: config.baseUrl }));
  // The privacy layer: the patient's Consents, compiled into every query beside the scopes; and who owns each Subscription.
  const accessSources = [consentAccessSource(storage, config.baseUrl), ownershipAccessSource];
  const exportJobs = await openExportJobs(config);
  // The websocket channel: tokens signed by $get-ws-binding-token, bindings served on [base]/ws.
  const wsBindings = new BindingTokens(config.subscriptions.wsTokenSeconds ?? 3600);
  const websocket = new WebSocketChannel(wsBindings);
  const unavailable = subscriptionsUnavailable(storage);
  const app = buildServer({
    config,
    services: {
      storage,
      validator: createValidator(),
      referentialIntegrity: config.referentialIntegrity,
      claims: config.claims,
      subscriptionEndpoints: { allowlist: config.subscriptions.endpointAllowlist },
      wsBindings,
      ...(unavailable ? { subscriptionsUnavailable: unavailable } : {}),
    },
    auth,
    accessSources,
    scheduling: config.scheduling,
    exports: { jobs: exportJobs, settings: config.export },
  });
  // Loud, not fatal (as the booking rule): everything else is served; Subscription writes answer 501.
  if (unavailable) app.log.warn(`SUBSCRIPTIONS ARE NOT DELIVERED: ${unavailable}. Subscription writes answer 501.`);
  const subscriptions = unavailable
    ? undefined
    : await startSubscriptions({
        storage,
        baseUrl: config.baseUrl,
        config: config.subscriptions,
        accessSources,
        log: (message) => app.log.warn(message),
        websocket,
      });
  const websocketEndpoint = installWebSocket(app, { auth, storage, basePath: config.basePath, channel: websocket });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping: finishing in-flight requests');
    // close() stops accepting, waits for in-flight requests, then the database closes.
    await websocketEndpoint.close();
    await app.close();
    await subscriptions?.stop();
    await exportJobs.close();
    await storage.close();
    await accounts.close();
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
