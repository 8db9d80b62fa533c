/**
 * Subscriptions (docs/subscriptions.md): what the server wires at start-up.
 */
import type { SubscriptionConfig } from '../config';
import { createIndexer } from '../search/indexer';
import type { AccessPartSource } from '../security/access-filter';
import type { Storage } from '../storage/port';
import { SubscriptionEngine } from './engine';
import type { WebSocketChannel } from './websocket-channel';

export { ownershipAccessSource } from './owner';
export { SubscriptionEngine } from './engine';
export { WebSocketChannel } from './websocket-channel';
export { BindingTokens } from './ws-binding';

export interface SubscriptionSetup {
  storage: Storage;
  baseUrl: string;
  config: SubscriptionConfig;
  /** The access layers beside the scopes that delivery decides with (consent, ownership). */
  accessSources: readonly AccessPartSource[];
  log: (message: string) => void;
  /** The websocket channel (served by src/http/websocket.ts); absent, websocket subscriptions wait. */
  websocket?: WebSocketChannel;
}

/**
 * Why this storage cannot deliver subscriptions, or undefined when it can:
 * the outbox needs a commit listener inside atomic units of work, which a
 * standalone MongoDB does not have (docs/subscriptions.md).
 */
export function subscriptionsUnavailable(storage: Storage): string | undefined {
  if (!storage.onCommit) return 'the storage has no commit hooks';
  try {
    // A listener on no type, removed at once: registering it is the question.
    storage.onCommit({ types: [], inside: () => undefined })();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The engine, started: every subscription's undelivered events are sent from now on. */
export async function startSubscriptions({ storage, baseUrl, config, accessSources, log, websocket }: SubscriptionSetup): Promise<SubscriptionEngine> {
  const engine = new SubscriptionEngine({
    storage,
    baseUrl,
    indexer: createIndexer({ baseUrl }),
    policy: { allowlist: config.endpointAllowlist },
    maxAttempts: config.maxAttempts,
    retryBaseMs: config.retryBaseMs,
    timeoutMs: config.timeoutMs,
    accessSources,
    log,
  });
  if (websocket) {
    engine.websocket = websocket;
    websocket.attach(engine);
  }
  await engine.start();
  return engine;
}
