// @ts-check
/**
 * Concord's privacy page: a SMART app (App Launch 2.2, standalone launch,
 * authorization code flow with PKCE S256) that reads and writes only through
 * the FHIR API with the signed-in user's own token, so scopes, consent and
 * the audit apply to it as to any other app (docs/privacy-page.md).
 * Plain browser JavaScript, no build step and no library: every value shown
 * is set with textContent, never parsed as HTML.
 */

const meta = (/** @type {string} */ name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
const FHIR_BASE = meta('concord-fhir-base');
const CLIENT_ID = meta('concord-client-id');
const SCOPES = meta('concord-scopes');
const REDIRECT_URI = `${location.origin}/privacy/`;
const PKCE_KEY = 'concord-privacy-pkce';
const SESSION_KEY = 'concord-privacy-session';
const SIGNED_OUT_KEY = 'concord-privacy-signed-out';
const LOG_PAGE_SIZE = 20;

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const RESOURCE_TYPES = 'http://hl7.org/fhir/resource-types';
const CONSENT_PROFILE = 'http://concord.example/fhir/StructureDefinition/concord-consent';

/**
 * The sensitive categories a share may leave out, as the DS4P labels
 * (v3-ActCode information sensitivity policies) Concord honours
 * (docs/access-control.md, step 5): a share names a category's labels to
 * include it, and without them the category stays hidden.
 */
const CATEGORIES = [
  { key: 'mental', words: 'mental health', box: 'leave-out-mental', labels: ['BH', 'MH', 'PSY', 'PSYTHPN'] },
  { key: 'sexual', words: 'sexual and reproductive health', box: 'leave-out-sexual', labels: ['SEX', 'STD'] },
  { key: 'substance', words: 'substance use', box: 'leave-out-substance', labels: ['SUD', 'ETH', 'ETHUD', 'OPIOIDUD'] },
];
/** Every label that makes a resource sensitive (SENSITIVE_LABELS in src/security/consent/vocabulary.ts). */
const SENSITIVE = new Set(['R', 'V', 'BH', 'COGN', 'DVD', 'EMOTDIS', 'ETH', 'ETHUD', 'GDIS', 'HIV', 'MH', 'MST', 'OPIOIDUD', 'PSY', 'PSYTHPN', 'SCA', 'SDV', 'SEX', 'SICKLE', 'SPI', 'STD', 'SUD', 'TBOO']);

const TYPE_WORDS = /** @type {Record<string, string>} */ ({
  Patient: 'personal details',
  Encounter: 'visits (encounters)',
  Observation: 'results and measurements',
  Condition: 'conditions',
  MedicationRequest: 'prescriptions',
  MedicationStatement: 'medicines',
  AllergyIntolerance: 'allergies',
  Immunization: 'vaccinations',
  Procedure: 'procedures',
  DiagnosticReport: 'reports',
  DocumentReference: 'documents',
  CarePlan: 'care plans',
  Appointment: 'appointments',
  ServiceRequest: 'referrals',
  Claim: 'claims',
  ClaimResponse: 'claim decisions',
  Coverage: 'insurance cover',
  Consent: 'sharing choices',
  RelatedPerson: 'family members and contacts',
  QuestionnaireResponse: 'forms',
  AuditEvent: 'access log',
});
const typeWords = (/** @type {string} */ type) => TYPE_WORDS[type] ?? type;

const PURPOSE_WORDS = /** @type {Record<string, string>} */ ({
  TREAT: 'treatment',
  ETREAT: 'emergency treatment (break-the-glass)',
  HPAYMT: 'payment by your insurer',
  FAMRQT: 'a family member’s request',
  PATRQT: 'your own request',
  HOPERAT: 'running the service',
  PUBHLTH: 'public health',
  HRESCH: 'research',
});
const purposeWords = (/** @type {string} */ code) => PURPOSE_WORDS[code] ?? code;

const ACTION_WORDS = /** @type {Record<string, string>} */ ({
  read: 'Read',
  vread: 'Read',
  'search-type': 'Searched',
  'search-system': 'Searched',
  'history-instance': 'Read the history of',
  'history-type': 'Read the history of',
  create: 'Created',
  update: 'Changed',
  patch: 'Changed',
  delete: 'Deleted',
  operation: 'Asked about',
});

/** What the base policy of docs/access-control.md ("The decision", steps 1, 2, 4 and 5) says, in the patient's words. */
const BASE_POLICY = [
  'You always see your whole record.',
  'Your care team sees your record for treatment: a practitioner or organisation who treats you, that is your general practitioner, your managing organisation, or anyone named on one of your encounters, appointments or referrals.',
  'Your insurer sees, for payment, the claims it pays, the cover it gives you, its decisions on those claims, and your personal details when such a claim or cover exists.',
  'Sensitive information (mental health, sexual and reproductive health, substance use, HIV and anything marked restricted) is shown to others only when one of your shares names it.',
  'In an emergency, a clinician can break the glass and see everything; every such access is recorded and highlighted in the log below.',
  'Everyone else sees nothing. When several of your rules could apply, the newest one decides.',
];

// ---------------------------------------------------------------- small helpers

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @param {string} tag @param {Record<string, string>} [attributes] @param {Array<Node | string>} [children] */
function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}
const base64url = (/** @type {ArrayBuffer | Uint8Array} */ bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const randomText = (/** @type {number} */ size) => base64url(crypto.getRandomValues(new Uint8Array(size)));
/** "a", "a and b", "a, b and c". */
function list(/** @type {string[]} */ items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
const today = () => new Date().toISOString().slice(0, 10);
/** A period end as the instant it ends: a date lasts the whole day. */
const endInstant = (/** @type {string} */ end) => Date.parse(end.length <= 10 ? `${end}T23:59:59.999Z` : end);
const formatDate = (/** @type {string} */ value) =>
  new Date(value.length <= 10 ? `${value}T12:00:00Z` : value).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
const codesOf = (/** @type {any} */ concept) => (concept?.coding ?? []).map((/** @type {any} */ coding) => coding.code);
const jwtClaims = (/** @type {string} */ jwt) => JSON.parse(atob((jwt.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')));
/** `Type/id` of an absolute or relative reference. */
const localRef = (/** @type {string} */ ref) => ref.split('/').slice(-2).join('/');

class Shown extends Error {}

function setStatus(/** @type {string} */ text, failed = false) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', failed);
  status.hidden = text === '';
}

// ---------------------------------------------------------------- sign-in (SMART App Launch, PKCE S256)

/** @type {{authorization_endpoint: string, token_endpoint: string, revocation_endpoint?: string} | undefined} */
let discovery;
async function smartConfiguration() {
  if (!discovery) discovery = await (await fetch(`${FHIR_BASE}/.well-known/smart-configuration`)).json();
  return /** @type {NonNullable<typeof discovery>} */ (discovery);
}

async function signIn() {
  const verifier = randomText(32);
  const state = randomText(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const { authorization_endpoint } = await smartConfiguration();
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: SCOPES,
    state,
    aud: FHIR_BASE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`${authorization_endpoint}?${query}`);
}

/** Back from the authorization server: the code for a token, checked against the state this tab sent. */
async function completeSignIn(/** @type {URLSearchParams} */ params) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null');
  sessionStorage.removeItem(PKCE_KEY);
  // The code is single use: take it out of the address bar and the history.
  history.replaceState(null, '', REDIRECT_URI);
  if (params.get('error')) throw new Shown(`You were not signed in: ${params.get('error_description') ?? params.get('error')}.`);
  if (!saved || saved.state !== params.get('state')) throw new Shown('This sign-in did not start from this page. Sign in again.');
  const { token_endpoint } = await smartConfiguration();
  const response = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code') ?? '', redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, code_verifier: saved.verifier }),
  });
  const token = await response.json();
  if (!response.ok) throw new Shown(`You were not signed in: ${token.error_description ?? token.error}.`);
  const claims = jwtClaims(token.access_token);
  const session = {
    accessToken: token.access_token,
    patient: token.patient,
    scope: token.scope,
    fhirUser: localRef(String(claims.fhirUser ?? '')),
    expiresAt: Date.now() + Number(token.expires_in ?? 0) * 1000,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

/** @typedef {{accessToken: string, patient: string, scope: string, fhirUser: string, expiresAt: number}} Session */
/** @type {Session} */
let session;

async function startSession() {
  const params = new URLSearchParams(location.search);
  if (params.has('code') || params.has('error')) return completeSignIn(params);
  const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
  // A minute's margin: a token about to expire is renewed before it fails mid-page.
  if (saved && saved.expiresAt > Date.now() + 60_000) return saved;
  if (sessionStorage.getItem(SIGNED_OUT_KEY)) {
    setStatus('You are signed out.');
    const again = el('button', { type: 'button' }, ['Sign in']);
    again.addEventListener('click', () => {
      sessionStorage.removeItem(SIGNED_OUT_KEY);
      void signIn();
    });
    $('status').after(again);
    return undefined;
  }
  await signIn();
  return undefined;
}

// ---------------------------------------------------------------- FHIR API

class FhirFailure extends Error {
  constructor(/** @type {number} */ status, /** @type {any} */ body) {
    super(body?.issue?.map((/** @type {any} */ issue) => issue.diagnostics).filter(Boolean).join(' ') || `The server answered ${status}`);
    this.status = status;
  }
}

/** One call with the user's token; paging links are followed only when they stay on this server's FHIR base. */
async function fhir(/** @type {string} */ path, /** @type {{method?: string, body?: unknown, headers?: Record<string, string>}} */ options = {}) {
  const url = /^https?:/.test(path) ? path : `${FHIR_BASE}/${path}`;
  if (!url.startsWith(`${FHIR_BASE}/`)) throw new Shown('The server sent a link to another site; it was not followed.');
  const response = await fetch(url, {
    method: options.method ?? 'GET',
    headers: {
      accept: 'application/fhir+json',
      authorization: `Bearer ${session.accessToken}`,
      ...(options.body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  if (response.status === 401) {
    sessionStorage.removeItem(SESSION_KEY);
    await signIn();
    throw new Shown('Your sign-in has expired. Signing in again…');
  }
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new FhirFailure(response.status, body);
  return body;
}

/** Every page of a search (small searches: the patient's own Consents and RelatedPersons). */
async function searchAll(/** @type {string} */ path) {
  const resources = [];
  /** @type {string | undefined} */
  let next = path;
  for (let pages = 0; next && pages < 20; pages += 1) {
    const bundle = await fhir(next);
    resources.push(...(bundle.entry ?? []).map((/** @type {any} */ entry) => entry.resource).filter((/** @type {any} */ resource) => resource && resource.resourceType !== 'OperationOutcome'));
    next = bundle.link?.find((/** @type {any} */ link) => link.relation === 'next')?.url;
  }
  return resources;
}

// ---------------------------------------------------------------- names

/** @type {Map<string, string>} */
const names = new Map();

function nameOf(/** @type {any} */ resource) {
  if (typeof resource?.name === 'string') return resource.name;
  const name = resource?.name?.[0];
  if (!name) return undefined;
  return name.text ?? [...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean).join(' ');
}

const KIND_WORDS = /** @type {Record<string, string>} */ ({ Practitioner: 'a practitioner', PractitionerRole: 'a practitioner', Organization: 'an organisation', RelatedPerson: 'a family member or contact', Patient: 'a patient', Device: 'a device' });

/** Names for references, read through the API (what the token may not read keeps a neutral name). */
async function resolveNames(/** @type {string[]} */ refs) {
  const missing = [...new Set(refs.map(localRef))].filter((ref) => !names.has(ref) && /^[A-Za-z]+\/[A-Za-z0-9\-.]+$/.test(ref));
  await Promise.all(
    missing.map(async (ref) => {
      const resource = await fhir(ref).catch(() => undefined);
      names.set(ref, nameOf(resource) ?? `Someone (${KIND_WORDS[ref.split('/')[0] ?? ''] ?? ref.split('/')[0]})`);
    }),
  );
}
const nameFor = (/** @type {string} */ ref) => (localRef(ref) === session.fhirUser ? 'You' : names.get(localRef(ref)) ?? ref);
const isPatient = () => session.fhirUser === `Patient/${session.patient}`;
const patientName = () => names.get(`Patient/${session.patient}`) ?? 'the patient';

// ---------------------------------------------------------------- Consents in words

/** @type {any[]} */
let consents = [];
/** @type {any[]} */
let relatedPersons = [];

const policyOf = (/** @type {any} */ consent) => codesOf(consent.policyRule)[0];
const isExpired = (/** @type {any} */ consent) => {
  const end = consent.provision?.period?.end;
  return end !== undefined && endInstant(end) < Date.now();
};
const isInForce = (/** @type {any} */ consent) => consent.status === 'active' && !isExpired(consent);
const actorsOf = (/** @type {any} */ provision) => (provision?.actor ?? []).map((/** @type {any} */ actor) => actor.reference?.reference).filter(Boolean).map(localRef);

/** The labels a provision and its nested provisions name (what a permit opens of the sensitive data). */
function labelsNamed(/** @type {any} */ provision, /** @type {Set<string>} */ into = new Set()) {
  for (const label of provision?.securityLabel ?? []) into.add(label.code);
  for (const nested of provision?.provision ?? []) if (nested.type !== 'deny') labelsNamed(nested, into);
  return into;
}

function whatWords(/** @type {any} */ provision) {
  const parts = [];
  const classes = (provision.class ?? []).filter((/** @type {any} */ c) => !c.system || c.system === RESOURCE_TYPES).map((/** @type {any} */ c) => typeWords(c.code));
  if (classes.length) parts.push(`your ${list(classes)}`);
  const data = (provision.data ?? []).map((/** @type {any} */ d) => `one record (${localRef(d.reference?.reference ?? '')})${d.meaning === 'instance' ? '' : ' and everything that refers to it'}`);
  if (data.length) parts.push(list(data));
  const labels = (provision.securityLabel ?? []).map((/** @type {any} */ label) => label.display ?? label.code);
  if (labels.length) parts.push(`information labelled ${list(labels)}`);
  const codes = (provision.code ?? []).map((/** @type {any} */ code) => code.text ?? codesOf(code).join(', '));
  if (codes.length) parts.push(`records coded ${list(codes)}`);
  return parts.length ? list(parts) : 'your whole record';
}

function whoWords(/** @type {any} */ provision) {
  const actors = actorsOf(provision);
  if (actors.length) return list(actors.map(nameFor));
  const purposes = (provision.purpose ?? []).map((/** @type {any} */ p) => p.code);
  if (purposes.length === 1 && purposes[0] === 'HPAYMT') return 'Your insurer';
  return provision.type === 'deny' ? 'Nobody but you' : 'Anyone';
}

/** One Consent as the patient reads it: who, what, what for, until when. */
function describeConsent(/** @type {any} */ consent) {
  const provision = consent.provision;
  const policy = policyOf(consent);
  if (!provision) return policy === 'OPTOUT' ? 'Nobody but you can see your record (a lockbox). Only an emergency break-the-glass access can open it, and it is recorded.' : 'A rule without details: it changes nothing.';
  const who = whoWords(provision);
  const denied = provision.type === 'deny';
  const nobody = who === 'Nobody but you';
  let text = `${who} ${denied && !nobody ? 'cannot see' : 'can see'} ${whatWords(provision)}`;
  const purposes = (provision.purpose ?? []).map((/** @type {any} */ p) => p.code).filter((/** @type {string} */ code) => !(who === 'Your insurer' && code === 'HPAYMT'));
  if (purposes.length) text += `, for ${list(purposes.map(purposeWords))}`;
  if (!denied) {
    const named = labelsNamed(provision);
    const left = CATEGORIES.filter((category) => !category.labels.some((label) => named.has(label)));
    const included = CATEGORIES.filter((category) => !left.includes(category));
    if (included.length) text += `, including your ${list(included.map((c) => c.words))} information`;
    if (left.length) text += `, but not your ${list(left.map((c) => c.words))} information`;
  }
  const excepts = (provision.provision ?? []).filter((/** @type {any} */ nested) => nested.type === 'deny').map(whatWords);
  if (excepts.length) text += `, except ${list(excepts)}`;
  const end = provision.period?.end;
  text += end ? `, until ${formatDate(end)}` : ', until you stop it';
  if (consent.status !== 'active') text += ' (stopped)';
  else if (isExpired(consent)) text += ' (expired)';
  text += '.';
  if (policy === 'OPTIN') text += ' This rule also lets any clinician treating you see your record.';
  if (policy === 'OPTOUT') text += ' Everyone else is kept out (a lockbox), except in an emergency.';
  return text;
}

// ---------------------------------------------------------------- "What can they see?" (Consent/$evaluate)

/** @type {any[] | undefined} */
let sample;
/** Not clinical data, so not what a person asks about: the record's own bookkeeping and the people in it. */
const BOOKKEEPING = new Set(['AuditEvent', 'Consent', 'Provenance', 'RelatedPerson']);

/** One resource of each type and sensitive category of the patient's record (its $everything, first page). */
async function recordSample() {
  if (sample) return sample;
  const bundle = await fhir(`Patient/${encodeURIComponent(session.patient)}/$everything?_count=200`);
  const own = `Patient/${session.patient}`;
  const groups = new Map();
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (!resource || BOOKKEEPING.has(resource.resourceType)) continue;
    const mine = resource.resourceType === 'Patient' ? resource.id === session.patient : JSON.stringify(resource).includes(`"${own}"`);
    if (!mine) continue;
    const key = `${resource.resourceType}|${sensitivityOf(resource) ?? ''}`;
    if (!groups.has(key)) groups.set(key, resource);
  }
  sample = [...groups.values()].slice(0, 30);
  return sample;
}

/** The sensitive category of a resource: one of CATEGORIES' keys, 'other', or undefined when it carries no sensitive label. */
function sensitivityOf(/** @type {any} */ resource) {
  const labels = (resource.meta?.security ?? []).map((/** @type {any} */ label) => label.code);
  const category = CATEGORIES.find((c) => c.labels.some((label) => labels.includes(label)));
  if (category) return category.key;
  return labels.some((/** @type {string} */ label) => SENSITIVE.has(label)) ? 'other' : undefined;
}

async function whatCanTheySee(/** @type {string} */ ref, /** @type {HTMLElement} */ out) {
  out.textContent = 'Checking…';
  try {
    const resources = await recordSample();
    const answers = await Promise.all(
      resources.map(async (resource) => {
        const parameters = await fhir('Consent/$evaluate', {
          method: 'POST',
          body: {
            resourceType: 'Parameters',
            parameter: [
              { name: 'actor', valueReference: { reference: ref } },
              { name: 'resource', valueReference: { reference: `${resource.resourceType}/${resource.id}` } },
            ],
          },
        });
        const decision = parameters.parameter?.find((/** @type {any} */ p) => p.name === 'decision')?.valueCode;
        return { resource, permitted: decision === 'permit' };
      }),
    );
    out.textContent = evaluationWords(nameFor(ref), answers);
  } catch (error) {
    if (error instanceof FhirFailure && error.status === 403) out.textContent = `Only ${patientName()} can ask this.`;
    else out.textContent = `Could not check: ${error instanceof Error ? error.message : error}`;
  }
}

function evaluationWords(/** @type {string} */ who, /** @type {Array<{resource: any, permitted: boolean}>} */ answers) {
  const words = (/** @type {boolean} */ permitted, /** @type {boolean} */ sensitive) => [
    ...new Set(
      answers
        .filter((a) => a.permitted === permitted && (sensitivityOf(a.resource) !== undefined) === sensitive)
        .map((a) => (sensitive ? `${CATEGORIES.find((c) => c.key === sensitivityOf(a.resource))?.words ?? 'other sensitive'} information` : typeWords(a.resource.resourceType))),
    ),
  ];
  const can = [...words(true, false), ...words(true, true)];
  const cannot = [...words(false, false), ...words(false, true)];
  if (answers.length === 0) return 'Your record holds nothing to check yet.';
  if (can.length === 0) return `${who} cannot see anything in your record.`;
  return `${who} can see your ${list(can)}${cannot.length ? `, not your ${list(cannot)}` : ''}.`;
}

// ---------------------------------------------------------------- rendering the shares

function shareItem(/** @type {any} */ consent, /** @type {boolean} */ stopped) {
  const item = el('li', { class: 'share', 'data-consent': consent.id }, [el('p', {}, [describeConsent(consent)])]);
  const actions = el('div', { class: 'actions' });
  if (isPatient()) {
    const button = el('button', { type: 'button' }, [stopped ? 'Share again' : 'Stop sharing']);
    button.addEventListener('click', () => changeShare(consent, stopped));
    actions.append(button);
  }
  for (const ref of actorsOf(consent.provision)) {
    const out = el('p', { class: 'evaluation', role: 'status', 'aria-live': 'polite' });
    const button = el('button', { type: 'button', class: 'secondary', 'aria-describedby': `who-${consent.id}-${ref.replace('/', '-')}` }, ['What can they see?']);
    const label = el('span', { id: `who-${consent.id}-${ref.replace('/', '-')}`, class: 'visually-hidden' }, [nameFor(ref)]);
    button.addEventListener('click', () => whatCanTheySee(ref, out));
    actions.append(button, label);
    item.append(out);
  }
  if (actions.childElementCount) item.insertBefore(actions, item.children[1] ?? null);
  return item;
}

function renderShares() {
  const newestFirst = [...consents].sort((a, b) => String(b.dateTime ?? b.meta?.lastUpdated ?? '').localeCompare(String(a.dateTime ?? a.meta?.lastUpdated ?? '')));
  const active = newestFirst.filter(isInForce);
  const stopped = newestFirst.filter((consent) => consent.status === 'inactive' || (consent.status === 'active' && isExpired(consent)));
  const activeList = $('active-shares');
  activeList.replaceChildren(...active.map((consent) => shareItem(consent, false)));
  if (!active.length) activeList.append(el('li', {}, ['You have not shared your record with anyone.']));
  const stoppedList = $('stopped-shares');
  stoppedList.replaceChildren(...stopped.map((consent) => shareItem(consent, true)));
  if (!stopped.length) stoppedList.append(el('li', {}, ['None.']));
  $('base-policy').replaceChildren(...BASE_POLICY.map((text) => el('li', {}, [text])));
}

/** "Share with": my RelatedPersons, then practitioners and organisations found by name, then someone new. */
function renderShareWith(/** @type {any[]} */ found = []) {
  const select = /** @type {HTMLSelectElement} */ ($('share-with'));
  const chosen = select.value;
  const option = (/** @type {string} */ value, /** @type {string} */ text) => el('option', { value }, [text]);
  const groups = [option('', 'Nobody (only the insurer choice below)')];
  if (relatedPersons.length) groups.push(el('optgroup', { label: 'My family and contacts' }, relatedPersons.map((person) => option(`RelatedPerson/${person.id}`, nameOf(person) ?? 'Unnamed contact'))));
  if (found.length) groups.push(el('optgroup', { label: 'Found by name' }, found.map((resource) => option(`${resource.resourceType}/${resource.id}`, `${nameOf(resource) ?? resource.id} (${resource.resourceType === 'Organization' ? 'organisation' : 'practitioner'})`))));
  groups.push(option('new', 'Someone new in my family…'));
  select.replaceChildren(...groups);
  select.value = found.length ? `${found[0].resourceType}/${found[0].id}` : [...select.options].some((o) => o.value === chosen) ? chosen : '';
  $('new-person').hidden = select.value !== 'new';
}

async function findByName(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const text = /** @type {HTMLInputElement} */ ($('find-name')).value.trim();
  const out = $('find-result');
  if (!text) {
    out.textContent = 'Type a name to look for.';
    return;
  }
  const query = encodeURIComponent(text);
  const found = (await Promise.all([searchAll(`Practitioner?name=${query}&_count=20`), searchAll(`Organization?name=${query}&_count=20`)])).flat();
  for (const resource of found) names.set(`${resource.resourceType}/${resource.id}`, nameOf(resource) ?? resource.id);
  renderShareWith(found);
  out.textContent = found.length ? `Found ${found.length}: choose in “Share with”.` : `Nobody found named “${text}”.`;
}

// ---------------------------------------------------------------- writing Consents

function newConsent(/** @type {any} */ provision) {
  return {
    resourceType: 'Consent',
    meta: { profile: [CONSENT_PROFILE] },
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: `Patient/${session.patient}` },
    dateTime: new Date().toISOString(),
    performer: [{ reference: `Patient/${session.patient}` }],
    // OPTINR ("opt-in with restrictions"), not OPTIN: Concord reads OPTIN as also opening the record to
    // every clinician for treatment (docs/access-control.md, step 3); a share changes only what it names.
    policyRule: { coding: [{ system: ACT_CODE, code: 'OPTINR' }] },
    provision,
  };
}

function period(/** @type {string} */ until) {
  return { start: today(), ...(until ? { end: until } : {}) };
}

/** A permit for one person: the sensitive categories not left out are named, so step 5 lets them through. */
function shareConsent(/** @type {string} */ ref, /** @type {string} */ until, /** @type {string[]} */ includedLabels) {
  return newConsent({
    type: 'permit',
    period: period(until),
    actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: ref, display: nameFor(ref) } }],
    action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }],
    ...(includedLabels.length ? { provision: [{ type: 'permit', securityLabel: includedLabels.map((code) => ({ system: ACT_CODE, code })) }] } : {}),
  });
}

/** The insurer opt-out of docs/access-control.md: payment purposes may not see Encounters. */
function insurerConsent(/** @type {string} */ until) {
  return newConsent({
    type: 'deny',
    period: period(until),
    purpose: [{ system: ACT_REASON, code: 'HPAYMT' }],
    class: [{ system: RESOURCE_TYPES, code: 'Encounter' }],
  });
}

async function share(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const out = $('share-result');
  const target = /** @type {HTMLSelectElement} */ ($('share-with')).value;
  const until = /** @type {HTMLInputElement} */ ($('until')).value;
  const stopInsurer = /** @type {HTMLInputElement} */ ($('stop-insurer')).checked;
  if (!target && !stopInsurer) {
    out.textContent = 'Choose who to share with in “Share with”, or tick “Stop my insurer from seeing my encounters”.';
    return;
  }
  if (until && until < today()) {
    out.textContent = '“Until” is in the past: choose a later date, or leave it empty.';
    return;
  }
  try {
    const done = [];
    if (target) {
      let ref = target;
      if (target === 'new') {
        const name = /** @type {HTMLInputElement} */ ($('new-name')).value.trim();
        if (!name) {
          out.textContent = 'Type the name of the person to share with.';
          return;
        }
        const relationship = /** @type {HTMLSelectElement} */ ($('new-relationship')).value;
        const person = await fhir('RelatedPerson', {
          method: 'POST',
          body: {
            resourceType: 'RelatedPerson',
            active: true,
            patient: { reference: `Patient/${session.patient}` },
            relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: relationship }] }],
            name: [{ text: name }],
          },
        });
        ref = `RelatedPerson/${person.id}`;
        names.set(ref, name);
      }
      const included = CATEGORIES.filter((c) => !(/** @type {HTMLInputElement} */ ($(c.box)).checked)).flatMap((c) => c.labels);
      await fhir('Consent', { method: 'POST', body: shareConsent(ref, until, included) });
      done.push(`Shared with ${nameFor(ref)}.`);
    }
    if (stopInsurer) {
      await fhir('Consent', { method: 'POST', body: insurerConsent(until) });
      done.push('Your insurer can no longer see your encounters.');
    }
    /** @type {HTMLFormElement} */ ($('share-form')).reset();
    await reload();
    out.textContent = done.join(' ');
  } catch (error) {
    out.textContent = `Not shared: ${error instanceof Error ? error.message : error}`;
  }
}

/** Stop sharing (status inactive), or share again (active; an expired share restarts today with no end). */
async function changeShare(/** @type {any} */ consent, /** @type {boolean} */ again) {
  const changed = structuredClone(consent);
  changed.status = again ? 'active' : 'inactive';
  if (again && isExpired(consent)) changed.provision.period = { start: today() };
  try {
    await fhir(`Consent/${consent.id}`, { method: 'PUT', body: changed, headers: consent.meta?.versionId ? { 'if-match': `W/"${consent.meta.versionId}"` } : {} });
    await reload();
    setStatus(again ? 'Shared again.' : 'Sharing stopped.');
  } catch (error) {
    setStatus(`Not changed: ${error instanceof Error ? error.message : error}`, true);
  }
}

// ---------------------------------------------------------------- the access log

/** The pages visited (their URLs), for "Newer accesses". */
let logPages = /** @type {string[]} */ ([]);
/** @type {string | undefined} */
let nextLogPage;
/** People seen in the log or the shares: the choices of "Show accesses by". */
const people = new Set();

/** "Show accesses by": '' everyone but the signed-in user (their own page views would fill the log), '*' everyone, or one person. */
const logChoice = () => /** @type {HTMLSelectElement} */ ($('log-person')).value;

function logUrl() {
  const by = logChoice();
  const agent = by && by !== '*' ? `&agent=${encodeURIComponent(by)}` : '';
  // Without a server-side filter for "not me", pages are fetched larger and filtered here.
  const size = by === '' ? LOG_PAGE_SIZE * 3 : LOG_PAGE_SIZE;
  return `AuditEvent?patient=${encodeURIComponent(`Patient/${session.patient}`)}&_sort=-date&_count=${size}${agent}`;
}

const requestorOf = (/** @type {any} */ event) => (event.agent ?? []).find((/** @type {any} */ agent) => agent.requestor) ?? event.agent?.[0];

function whoDid(/** @type {any} */ event) {
  const who = requestorOf(event)?.who;
  if (who?.reference) return nameFor(who.reference);
  return who?.display === 'operator' ? 'The server’s operator' : who?.display ?? 'Unknown';
}

function whatWasDone(/** @type {any} */ event) {
  const action = ACTION_WORDS[event.subtype?.[0]?.code] ?? 'Used';
  // The patient entity (object-role 1) says whose record it was; the others are what was read or written.
  const entities = (event.entity ?? []).filter((/** @type {any} */ entity) => entity.what?.reference);
  const touched = entities.filter((/** @type {any} */ entity) => entity.role?.code !== '1');
  const types = [...new Set((touched.length ? touched : entities).map((/** @type {any} */ entity) => localRef(entity.what.reference).split('/')[0]))];
  const words = types.map((type) => `${typeWords(String(type))}`);
  const operation = event.outcomeDesc?.startsWith('operation ') ? ` (${event.outcomeDesc.slice('operation '.length)})` : '';
  return `${action} ${words.length ? list(words) : 'your record'}${operation}`;
}

const purposeOf = (/** @type {any} */ event) => (event.purposeOfEvent ?? []).flatMap(codesOf);
const OUTCOMES = /** @type {Record<string, string>} */ ({ 0: 'Allowed', 4: 'Denied', 8: 'Failed', 12: 'Failed' });

function logRow(/** @type {any} */ event) {
  const purposes = purposeOf(event);
  const breakGlass = purposes.includes('ETREAT');
  const denied = event.outcome === '4';
  // Explicit roles: on a phone the rows are laid out as cards, and CSS display would otherwise drop the table semantics.
  const row = el('tr', { role: 'row', class: [breakGlass ? 'break-glass' : '', denied ? 'denied' : ''].join(' ').trim() });
  const when = el('time', { datetime: event.recorded ?? '' }, [event.recorded ? new Date(event.recorded).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' }) : '']);
  const why = el('td', { role: 'cell', 'data-label': 'Why' }, [purposes.length ? list(purposes.map(purposeWords)) : 'not given']);
  if (breakGlass) why.prepend(el('strong', { class: 'badge' }, ['Emergency access']), ' ');
  const outcome = el('td', { role: 'cell', 'data-label': 'Outcome' }, [OUTCOMES[event.outcome] ?? 'Failed']);
  if (denied) outcome.prepend(el('span', { 'aria-hidden': 'true' }, ['✕ ']));
  const cell = (/** @type {string} */ label, /** @type {Node | string} */ content) => el('td', { role: 'cell', 'data-label': label }, [content]);
  row.append(cell('Who', whoDid(event)), cell('What', whatWasDone(event)), cell('When', when), why, outcome);
  return row;
}

/** One page of the log from `url`; in "everyone but you" mode, further server pages until a page is full (at most 10 fetched). */
async function showLogPage(/** @type {string} */ url) {
  const others = logChoice() === '';
  /** @type {any[]} */
  const events = [];
  /** @type {string | undefined} */
  let next = url;
  for (let fetched = 0; next && events.length < LOG_PAGE_SIZE && fetched < 10; fetched += 1) {
    const bundle = await fhir(next);
    const found = (bundle.entry ?? []).map((/** @type {any} */ entry) => entry.resource).filter((/** @type {any} */ r) => r?.resourceType === 'AuditEvent');
    events.push(...(others ? found.filter((/** @type {any} */ event) => localRef(requestorOf(event)?.who?.reference ?? '') !== session.fhirUser) : found));
    next = bundle.link?.find((/** @type {any} */ link) => link.relation === 'next')?.url;
    if (!others) break;
  }
  const refs = events.map((/** @type {any} */ event) => requestorOf(event)?.who?.reference).filter(Boolean);
  await resolveNames(refs);
  for (const ref of refs) people.add(localRef(ref));
  renderPeople();
  const onlyEmergency = /** @type {HTMLInputElement} */ ($('log-emergency')).checked;
  const shown = onlyEmergency ? events.filter((/** @type {any} */ event) => purposeOf(event).includes('ETREAT')) : events;
  $('access-log').querySelector('tbody')?.replaceChildren(...shown.map(logRow));
  $('log-empty').hidden = shown.length > 0;
  const emergencies = events.filter((/** @type {any} */ event) => purposeOf(event).includes('ETREAT')).length;
  const summary = $('break-glass-summary');
  summary.hidden = emergencies === 0;
  summary.textContent = `${emergencies} ${emergencies === 1 ? 'access' : 'accesses'} on this page ${emergencies === 1 ? 'was an emergency (break-the-glass) access' : 'were emergency (break-the-glass) accesses'}, highlighted in the table. Tick “Only emergency (break-the-glass) accesses” to see just those.`;
  nextLogPage = next;
  /** @type {HTMLButtonElement} */ ($('log-older')).disabled = !nextLogPage;
  /** @type {HTMLButtonElement} */ ($('log-newer')).disabled = logPages.length <= 1;
}

async function showLog(/** @type {'first' | 'older' | 'newer' | 'same'} */ where) {
  if (where === 'first') logPages = [logUrl()];
  else if (where === 'older' && nextLogPage) logPages.push(nextLogPage);
  else if (where === 'newer' && logPages.length > 1) logPages.pop();
  const url = logPages.at(-1);
  if (url) await showLogPage(url).catch((error) => setStatus(`The access log could not be read: ${error.message}`, true));
}

function renderPeople() {
  const select = /** @type {HTMLSelectElement} */ ($('log-person'));
  const chosen = select.value;
  const options = [...people].filter((ref) => ref !== session.fhirUser).sort((a, b) => nameFor(a).localeCompare(nameFor(b)));
  const own = people.has(session.fhirUser) ? [el('option', { value: session.fhirUser }, ['You'])] : [];
  select.replaceChildren(el('option', { value: '' }, ['Everyone but you']), el('option', { value: '*' }, ['Everyone, you included']), ...own, ...options.map((ref) => el('option', { value: ref }, [nameFor(ref)])));
  select.value = chosen;
}

// ---------------------------------------------------------------- start

async function reload() {
  const own = `Patient/${encodeURIComponent(session.patient)}`;
  const [patient, foundConsents, foundPersons] = await Promise.all([
    fhir(own).catch(() => undefined),
    searchAll(`Consent?patient=${own}&_count=100`),
    searchAll(`RelatedPerson?patient=${own}&_count=100`),
  ]);
  if (patient) names.set(`Patient/${session.patient}`, nameOf(patient) ?? 'the patient');
  for (const person of foundPersons) names.set(`RelatedPerson/${person.id}`, nameOf(person) ?? 'Unnamed contact');
  consents = foundConsents.filter((consent) => consent.status !== 'entered-in-error');
  relatedPersons = foundPersons;
  await resolveNames(consents.flatMap((consent) => actorsOf(consent.provision)));
  for (const ref of consents.flatMap((consent) => actorsOf(consent.provision))) people.add(ref);
  for (const person of foundPersons) people.add(`RelatedPerson/${person.id}`);
  sample = undefined;
  renderShares();
  renderShareWith();
  await showLog('first');
}

async function main() {
  const started = await startSession();
  if (!started) return;
  session = started;
  await resolveNames([session.fhirUser]);
  await reload();
  const patient = isPatient();
  $('whoami').textContent = patient ? `Signed in as ${patientName()}` : `Signed in as ${names.get(session.fhirUser) ?? 'a family member'}, for ${patientName()}`;
  $('share-section').hidden = !patient;
  const note = $('read-only-note');
  note.hidden = patient;
  note.textContent = `You are looking at ${patientName()}’s privacy page as ${names.get(session.fhirUser) ?? 'a family member'}. Only ${patientName()} can change who sees the record.`;
  $('sign-out').hidden = false;
  $('app').hidden = false;
  setStatus('');
  $('share-with').addEventListener('change', () => ($('new-person').hidden = /** @type {HTMLSelectElement} */ ($('share-with')).value !== 'new'));
  $('share-form').addEventListener('submit', (event) => void share(/** @type {SubmitEvent} */ (event)));
  $('find-form').addEventListener('submit', (event) => void findByName(/** @type {SubmitEvent} */ (event)).catch((error) => ($('find-result').textContent = `Search failed: ${error.message}`)));
  $('log-person').addEventListener('change', () => void showLog('first'));
  $('log-emergency').addEventListener('change', () => void showLog('same'));
  $('log-older').addEventListener('click', () => void showLog('older'));
  $('log-newer').addEventListener('click', () => void showLog('newer'));
}

/**
 * Sign out: the token is revoked (RFC 7009) and forgotten, and the
 * authorization server's sign-in session is ended (its cookie is on this
 * origin), so the next visit asks for the password again.
 */
$('sign-out').addEventListener('click', async () => {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.setItem(SIGNED_OUT_KEY, '1');
  const { revocation_endpoint } = await smartConfiguration();
  if (revocation_endpoint) await fetch(revocation_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: session.accessToken, client_id: CLIENT_ID }) }).catch(() => undefined);
  await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => undefined);
  location.assign(REDIRECT_URI);
});

main().catch((error) => {
  setStatus(error instanceof Shown || error instanceof FhirFailure ? error.message : `Something went wrong: ${error instanceof Error ? error.message : error}`, true);
  if (error instanceof Shown) {
    const again = el('button', { type: 'button' }, ['Sign in']);
    again.addEventListener('click', () => void signIn());
    $('status').after(again);
  }
});
