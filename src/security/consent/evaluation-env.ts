import type { ConsentActor } from './actor';

/** Consent action asked for: reading/searching is `access`; writing is `correct`. */
export type ConsentAction = 'access' | 'correct';

/** What is fixed for one request: who asks, why, for what, and when. */
export interface EvaluationEnv {
  actor: ConsentActor;
  /** v3-ActReason code (TREAT, HPAYMT...). */
  purpose: string;
  action: ConsentAction;
  /** Epoch ms: one clock reading for the request. */
  now: number;
  /** This server's base URL: absolute references under it are local. */
  baseUrl: string;
}
