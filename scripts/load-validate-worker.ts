import { randomUUID } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { Issue } from '../src/errors';
import { conditionalReferences, replaceReferences } from '../src/interactions/bundle-references';
import { storedBody } from '../src/interactions/write';
import { createValidator } from '../src/validation/validator';

/**
 * The worker side of load-pipeline.ts. For each transaction bundle it is
 * given (as the file's text), it chooses the ids of the resources the POST
 * entries create and builds, for every entry whose final body it can know,
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
  /** Each bundle's JSON text. */
  texts: string[];
}

export interface ValidatedBundle {
  /** fullUrl → the id its POST entry is to create. */
  ids: Array<[string, string]>;
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

/** `Type` or `Type/id` of a plain entry URL; undefined for a query, an operation or anything else. */
function plainTarget(url: unknown): { type: string; id?: string } | undefined {
  if (typeof url !== 'string' || url.includes('?') || url.startsWith('$')) return undefined;
  const [type, id, ...rest] = url.split('/');
  if (!type || rest.length > 0 || id?.startsWith('$')) return undefined;
  return id === undefined ? { type } : { type, id };
}

export function validateBundle(text: string): ValidatedBundle {
  const validated: ValidatedBundle = { ids: [], results: [] };
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
      id = randomUUID();
      if (typeof entry.fullUrl === 'string') validated.ids.push([entry.fullUrl, id]);
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

parentPort?.on('message', ({ seq, texts }: ValidateRequest) => {
  const response: ValidateResponse = { seq, bundles: texts.map(validateBundle) };
  parentPort!.postMessage(response);
});
