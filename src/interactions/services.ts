import type { Scheduling } from '../scheduling/install';
import type { ExportService } from '../export/service';
import type { Storage } from '../storage/port';
import type { ClaimsConfig, ReferentialIntegrity } from '../config';
import type { EndpointPolicy } from '../subscriptions/endpoint-policy';
import type { BindingTokens } from '../subscriptions/ws-binding';
import type { Validator } from '../validation/validator';

/** What the interactions need; built once at start-up and shared by every request. */
export interface Services {
  storage: Storage;
  validator: Validator;
  /** `REFERENTIAL_INTEGRITY` settings; absent means strict, no exempt types. */
  referentialIntegrity?: ReferentialIntegrity;
  /** `CLAIMS_AUTO_ADJUDICATE`; absent means off. */
  claims?: ClaimsConfig;
  /**
   * Inside a transaction: the `Type/id` of every resource its entries will
   * create or update, which its references may name before they are written.
   */
  plannedTargets?: ReadonlySet<string>;
  /** The booking rule and hold settings, installed by buildServer (src/scheduling/). */
  scheduling?: Scheduling;
  /** Where Subscription endpoints may point (`SUBSCRIPTION_ENDPOINT_ALLOWLIST`); absent: https to public addresses only. */
  subscriptionEndpoints?: EndpointPolicy;
  /** Why this storage cannot deliver Subscriptions (standalone MongoDB: no outbox); a Subscription write then answers 501. */
  subscriptionsUnavailable?: string;
  /** The WebSocket channel's binding tokens (`$get-ws-binding-token`); absent: no WebSocket endpoint (501). */
  wsBindings?: BindingTokens;
  /** Bulk Data export (src/export/): set by the HTTP server, which owns its runner and audit. */
  exports?: ExportService;
}
