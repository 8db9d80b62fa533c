import { randomUUID } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { plainTarget } from './load-ids';
import type { Issue } from '../src/errors';
import { conditionalReferences, replaceReferences } from '../src/interactions/bundle-references';
import { storedBody } from '../src/interactions/write';
import { createValidator } from '../src/validation/validator';

/**
 * The worker side of load-pipeline.ts. For each transaction bundle it is
 * given (as the file's text, with the ids the main thread chose for its POST
 * entries: load-ids.ts), it builds, for every entry whose final body it can know,
 * the body exactly as the write will validate it: references to the
 * bundle's fullUrls replaced (replaceReferences, as the transaction does),
 * the id set (storedBody, as the write does). It validates those with the
 * server's validator and answers each body's JSON with its issues.
 *
 * An entry whose final body depends on the database (a conditional create,
 * update or reference, whose target a search decides) is left out: the
 * write validates it itself. So is anything this code cannot read: a body
 * the write would refuse is refused there, with the REST answer.
 */
export interface ValidateRequest {
  seq: number;
  /** Each bundle's JSON text, and fullUrl → the id its POST entry is to create (assignIds). */
  bundles: Array<{ text: string; ids: Array<[string, string]> }>;
}

export interface ValidatedBundle {
  /** The final body's JSON → its validation issues. */
  results: Array<[string, Issue[]]>;
}

export interface ValidateResponse {
  seq: number;
  bundles: ValidatedBundle[];
}

interface Entry {
  fullUrl?: unknown;
  resource?: unknown;
  request?: { method?: unknown; url?: unknown; ifNoneExist?: unknown };
}

const validator = createValidator();

/** `ids`: the POST entries' new ids by fullUrl; an entry without one gets a random id here (and another at write time: its body is validated there). */
export function validateBundle(text: string, ids: ReadonlyMap<string, string> = new Map()): ValidatedBundle {
  const validated: ValidatedBundle = { results: [] };
  let bundle: { type?: unknown; entry?: unknown };
  try {
    bundle = JSON.parse(text) as typeof bundle;
  } catch {
    return validated;
  }
  if (bundle.type !== 'transaction' || !Array.isArray(bundle.entry)) return validated;
  const entries = bundle.entry as Entry[];
  // First the ids: every unconditional POST gets one, every PUT Type/id has its own.
  const targets = new Map<string, string>();
  const writes: Array<{ entry: Entry; type: string; id: string }> = [];
  for (const entry of entries) {
    const method = entry.request?.method;
    const target = plainTarget(entry.request?.url);
    if (!target || entry.request?.ifNoneExist !== undefined) continue;
    let id: string | undefined;
    if (method === 'POST' && target.id === undefined) {
      id = (typeof entry.fullUrl === 'string' ? ids.get(entry.fullUrl) : undefined) ?? randomUUID();
    } else if (method === 'PUT' && target.id !== undefined) {
      id = target.id;
    }
    if (id === undefined) continue;
    if (typeof entry.fullUrl === 'string') targets.set(entry.fullUrl, `${target.type}/${id}`);
    writes.push({ entry, type: target.type, id });
  }
  for (const { entry, type, id } of writes) {
    if (conditionalReferences(entry.resource).size > 0) continue;
    try {
      const body = storedBody(type, replaceReferences(entry.resource, targets), id);
      validated.results.push([JSON.stringify(body), validator.validate(body)]);
    } catch {
      // Not a resource body: the write answers it.
    }
  }
  return validated;
}

parentPort?.on('message', ({ seq, bundles }: ValidateRequest) => {
  const response: ValidateResponse = { seq, bundles: bundles.map(({ text, ids }) => validateBundle(text, new Map(ids))) };
  parentPort!.postMessage(response);
});
