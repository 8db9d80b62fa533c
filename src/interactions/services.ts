import type { Storage } from '../storage/port';
import type { Validator } from '../validation/validator';

/** What the interactions need; built once at start-up and shared by every request. */
export interface Services {
  storage: Storage;
  validator: Validator;
}
