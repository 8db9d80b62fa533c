import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FhirError } from '../../errors';
import type { Storage } from '../../storage/port';
import type { RequestGuard } from '../request-guard';
import type { AuthOn } from './auth-service';
import { checkAuthorizeRequest, redirectWith } from './authorize-request';
import { PENDING_REQUEST_SECONDS, SESSION_SECONDS } from './lifetimes';
import { failedSignInEvent } from './login-audit';
import { approvalPage, errorPage, loginPage, pickerPage, STYLESHEET } from './pages';
import { decoyHash, verifyPassword } from './passwords';
import { identitiesOf, type Identity } from './patient-choices';
import { visiblePatients, type PickerCriteria } from './practitioner-patients';
import { practitionerPickerPage } from './practitioner-picker-page';
import { randomToken, sameText } from './secrets';
import type { PendingAuthorization, Session } from './sessions';

export const AUTHORIZE_PATH = '/auth/authorize';
export const LOGIN_PATH = '/auth/login';
export const APPROVE_PATH = '/auth/approve';
export const PICK_PATH = '/auth/pick';
export const STYLE_PATH = '/auth/style.css';
export const LOGOUT_PATH = '/auth/logout';
const COOKIE = 'concord_session';

type Form = Array<[string, string]>;

/**
 * The browser side of the authorization code flow (SMART App Launch 2.2,
 * standalone launch): `GET /auth/authorize`, then the sign-in form, the
 * approval screen and, for `launch/patient`, the patient picker, each a POST
 * carrying the session's CSRF token and the pending request's id; the last
 * step redirects to the app with a code and its `state`.
 */
export function registerAuthorizeRoutes(root: FastifyInstance, auth: AuthOn, storage: Storage, guard: RequestGuard): void {
  // Cookies only here (encapsulated): the FHIR API never reads one, so no cookie can authorize an API call (no CSRF there).
  root.register(async (app) => {
    await app.register(fastifyCookie);
    authorizeRoutes(app, auth, storage, guard);
  });
}

const wantsPatientContext = (approved: readonly string[]) => approved.includes('launch/patient') || approved.some((scope) => scope.startsWith('patient/'));

function authorizeRoutes(app: FastifyInstance, auth: AuthOn, storage: Storage, guard: RequestGuard): void {
  const { sessions, throttle, tokenIssuer } = auth;
  const secureCookie = new URL(auth.baseUrl).protocol === 'https:';

  /** The pages may be framed by nobody, and may post only to this server and, for the final redirect, the app. */
  const pageHeaders = (reply: FastifyReply, redirectUri?: string) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-frame-options', 'DENY')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header(
        'content-security-policy',
        `default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'${redirectUri ? ` ${new URL(redirectUri).origin}` : ''}`,
      );

  const setCookie = (reply: FastifyReply, session: Session) =>
    reply.setCookie(COOKIE, session.id, { path: '/auth', httpOnly: true, sameSite: 'lax', secure: secureCookie, maxAge: SESSION_SECONDS });

  const showError = (reply: FastifyReply, status: number, message: string) => pageHeaders(reply).code(status).send(errorPage(message));

  const address = (request: FastifyRequest) => {
    if (!auth.server.trustProxy) return request.socket.remoteAddress ?? request.ip;
    // The proxy appends the address it saw: the last entry is the one it vouches for.
    const forwarded = String(request.headers['x-forwarded-for'] ?? '').split(',').map((part) => part.trim()).filter(Boolean);
    return forwarded.at(-1) ?? request.socket.remoteAddress ?? request.ip;
  };

  const clientName = (pending: PendingAuthorization) => tokenIssuer.clients.get(pending.clientId)?.name ?? pending.clientId;

  /** The session and pending request a form names, after its CSRF token; undefined after the error page is sent. */
  const formState = (request: FastifyRequest, reply: FastifyReply) => {
    const form = (Array.isArray(request.body) ? request.body : []) as Form;
    const field = (name: string) => form.find(([key]) => key === name)?.[1];
    const session = sessions.get(request.cookies[COOKIE]);
    const csrf = field('csrf');
    if (!session || csrf === undefined || !sameText(csrf, session.csrf)) {
      showError(reply, 403, 'This form has expired or did not come from Concord. Start again from the app.');
      return undefined;
    }
    const requestId = field('request') ?? '';
    const pending = session.pending.get(requestId);
    if (!pending || pending.createdAt + PENDING_REQUEST_SECONDS * 1000 < Date.now()) {
      showError(reply, 400, 'This sign-in request has expired. Start again from the app.');
      return undefined;
    }
    return { session, requestId, pending, form, field };
  };

  const redirectError = (reply: FastifyReply, session: Session, requestId: string, pending: PendingAuthorization, error: string, description: string) => {
    session.pending.delete(requestId);
    return reply.redirect(redirectWith(pending.redirectUri, { error, error_description: description, state: pending.state }), 302);
  };

  /** The code, bound to the client, redirect URI and PKCE challenge, to the app. */
  const finish = async (reply: FastifyReply, session: Session, requestId: string, pending: PendingAuthorization, identity: Identity, withPatient: boolean) => {
    session.pending.delete(requestId);
    const scope = (pending.approved ?? []).join(' ');
    const code = await tokenIssuer.codes.issue({
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      scope,
      username: session.username ?? '',
      fhirUser: identity.fhirUser,
      ...(withPatient ? { patient: identity.patient } : {}),
      ...(pending.nonce !== undefined ? { nonce: pending.nonce } : {}),
      authTime: session.authTime ?? Date.now(),
    });
    return reply.redirect(redirectWith(pending.redirectUri, { code, state: pending.state }), 302);
  };

  const practitionerOf = (fhirUsers: readonly string[]) => fhirUsers.find((fhirUser) => fhirUser.startsWith('Practitioner/'));

  /** The patients a practitioner may see, by the same admission, access filter and audit as a search of Patients (practitioner-patients.ts). */
  const searchPatients = (request: FastifyRequest, session: Session, pending: PendingAuthorization, practitioner: string, criteria: PickerCriteria) =>
    visiblePatients(
      { guard, storage, baseUrl: auth.baseUrl, audit: (events) => app.auditTrail.add(events) },
      { fhirUser: practitioner, username: session.username ?? '', clientId: pending.clientId, issuer: auth.origin },
      criteria,
      request.id,
      address(request),
    );

  /** Fail closed as the FHIR API does: no patient is listed while the access log cannot be written. */
  const auditUnavailable = (reply: FastifyReply) => {
    if (!app.auditTrail.failing) return false;
    showError(reply, 503, 'Concord cannot record accesses at the moment. Try again later.');
    return true;
  };

  const showPractitionerPicker = async (
    request: FastifyRequest,
    reply: FastifyReply,
    session: Session,
    requestId: string,
    pending: PendingAuthorization,
    practitioner: string,
    search: string,
  ) => {
    if (auditUnavailable(reply)) return reply;
    try {
      const { choices, more } = await searchPatients(request, session, pending, practitioner, { name: search });
      return pageHeaders(reply, pending.redirectUri).send(practitionerPickerPage({ csrf: session.csrf, request: requestId }, search, choices, more));
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return showError(reply, error.status, error.issues[0]?.diagnostics ?? 'The search failed.');
    }
  };

  /** The patient a practitioner chose, if the same search still lets them see it. */
  const practitionerChoice = async (request: FastifyRequest, session: Session, pending: PendingAuthorization, practitioner: string, patient: string) => {
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(patient)) return undefined;
    const { choices } = await searchPatients(request, session, pending, practitioner, { id: patient });
    const chosen = choices.find((choice) => choice.patient === patient);
    return chosen ? { ...chosen, fhirUser: practitioner } : undefined;
  };

  /** After sign-in: approval (unless already given for every requested scope), then the patient, then the code. */
  const proceed = async (request: FastifyRequest, reply: FastifyReply, session: Session, requestId: string, pending: PendingAuthorization) => {
    const username = session.username ?? '';
    const user = await tokenIssuer.accounts.getUser(username);
    if (!user || user.disabled) return redirectError(reply, session, requestId, pending, 'access_denied', 'The user cannot sign in');
    if (!pending.approved) {
      const remembered = await tokenIssuer.accounts.getApproval(username, pending.clientId);
      if (remembered && pending.scopes.every((scope) => remembered.includes(scope))) pending.approved = [...pending.scopes];
      else return pageHeaders(reply, pending.redirectUri).send(approvalPage({ csrf: session.csrf, request: requestId }, clientName(pending), pending.scopes));
    }
    const identities = await identitiesOf(user.fhirUsers, storage, auth.baseUrl);
    const wantsPatient = wantsPatientContext(pending.approved);
    const practitioner = practitionerOf(user.fhirUsers);
    if (practitioner !== undefined) {
      if (wantsPatient) return showPractitionerPicker(request, reply, session, requestId, pending, practitioner, '');
      return finish(reply, session, requestId, pending, { fhirUser: practitioner, patient: '', name: '' }, false);
    }
    if (identities.length === 0) return redirectError(reply, session, requestId, pending, 'access_denied', 'No patient record is linked to this user');
    if (identities.length === 1 && identities[0]) return finish(reply, session, requestId, pending, identities[0], wantsPatient);
    return pageHeaders(reply, pending.redirectUri).send(pickerPage({ csrf: session.csrf, request: requestId }, identities));
  };

  app.get(STYLE_PATH, async (_request, reply) => reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(STYLESHEET));

  app.get(AUTHORIZE_PATH, async (request, reply) => {
    const query = new Map<string, string[]>();
    for (const [name, value] of new URLSearchParams(request.url.split('?')[1] ?? '')) query.set(name, [...(query.get(name) ?? []), value]);
    const checked = checkAuthorizeRequest(query, tokenIssuer.clients, auth.baseUrl);
    if (checked.kind === 'page') return showError(reply, 400, checked.message);
    if (checked.kind === 'redirect') {
      return reply.redirect(redirectWith(checked.redirectUri, { error: checked.error, error_description: checked.description, state: checked.state }), 302);
    }
    const existing = sessions.get(request.cookies[COOKIE]);
    const session = existing ?? sessions.create();
    if (!existing) setCookie(reply, session);
    const requestId = randomToken();
    const pending: PendingAuthorization = {
      clientId: checked.client.clientId,
      redirectUri: checked.redirectUri,
      state: checked.state,
      scopes: checked.scopes,
      codeChallenge: checked.codeChallenge,
      ...(checked.nonce !== undefined ? { nonce: checked.nonce } : {}),
      createdAt: Date.now(),
    };
    session.pending.set(requestId, pending);
    if (session.username !== undefined) return proceed(request, reply, session, requestId, pending);
    return pageHeaders(reply, pending.redirectUri).send(loginPage({ csrf: session.csrf, request: requestId }, checked.client.name));
  });

  app.post(LOGIN_PATH, async (request, reply) => {
    const state = formState(request, reply);
    if (!state) return reply;
    const { session, requestId, pending, field } = state;
    const username = field('username') ?? '';
    const password = field('password') ?? '';
    const from = address(request);
    const keys = [`user:${username}`, `address:${from}`];
    const again = (status: number, message: string) =>
      pageHeaders(reply, pending.redirectUri).code(status).send(loginPage({ csrf: session.csrf, request: requestId }, clientName(pending), message));
    const refuse = async (status: number, message: string) => {
      await throttle.fail(keys);
      app.auditTrail.add([failedSignInEvent(auth.origin, username, from, pending.clientId)]);
      return again(status, message);
    };
    if (await throttle.locked(keys)) return refuse(429, 'Too many failed sign-ins. Try again later.');
    const user = await tokenIssuer.accounts.getUser(username);
    // The same work whether or not the user exists: the answer and its timing never say which part was wrong.
    const matches = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
    if (!user || !matches || user.disabled) return refuse(401, 'The username or password is wrong, or the account cannot sign in.');
    await throttle.succeed(username);
    const signedIn = sessions.signIn(session, username);
    setCookie(reply, signedIn);
    return proceed(request, reply, signedIn, requestId, pending);
  });

  /**
   * Ends the browser's sign-in session, so the next authorization asks for
   * the password again; tokens already issued are the app's to revoke
   * (RFC 7009, /auth/revoke). Posted by the page that signs out: another
   * site's form would not carry the SameSite=Lax cookie, and an Origin other
   * than this server's is refused outright (no cross-site sign-out).
   */
  app.post(LOGOUT_PATH, async (request, reply) => {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== auth.origin) return reply.code(403).header('cache-control', 'no-store').send({ error: 'forbidden', error_description: 'Sign-out is accepted from this server\'s own pages only' });
    sessions.end(request.cookies[COOKIE]);
    return reply.clearCookie(COOKIE, { path: '/auth' }).header('cache-control', 'no-store').code(204).send();
  });

  app.post(APPROVE_PATH, async (request, reply) => {
    const state = formState(request, reply);
    if (!state) return reply;
    const { session, requestId, pending, form, field } = state;
    if (session.username === undefined) return showError(reply, 403, 'Sign in first.');
    const ticked = new Set(form.filter(([key]) => key === 'scope').map(([, value]) => value));
    const approved = pending.scopes.filter((scope) => ticked.has(scope));
    if (field('decision') !== 'allow' || approved.length === 0) return redirectError(reply, session, requestId, pending, 'access_denied', 'The user denied access');
    pending.approved = approved;
    await tokenIssuer.accounts.setApproval(session.username, pending.clientId, approved);
    return proceed(request, reply, session, requestId, pending);
  });

  app.post(PICK_PATH, async (request, reply) => {
    const state = formState(request, reply);
    if (!state) return reply;
    const { session, requestId, pending, field } = state;
    if (session.username === undefined || !pending.approved) return showError(reply, 403, 'Sign in first.');
    const user = await tokenIssuer.accounts.getUser(session.username);
    if (!user || user.disabled) return redirectError(reply, session, requestId, pending, 'access_denied', 'The user cannot sign in');
    const practitioner = practitionerOf(user.fhirUsers);
    const patient = field('patient');
    if (practitioner !== undefined && wantsPatientContext(pending.approved)) {
      if (patient === undefined) return showPractitionerPicker(request, reply, session, requestId, pending, practitioner, (field('search') ?? '').trim());
      if (auditUnavailable(reply)) return reply;
      const chosen = await practitionerChoice(request, session, pending, practitioner, patient);
      if (!chosen) return showError(reply, 400, 'Choose one of the patients listed.');
      return finish(reply, session, requestId, pending, chosen, true);
    }
    const chosen = (await identitiesOf(user.fhirUsers, storage, auth.baseUrl)).find((identity) => identity.patient === patient);
    if (!chosen) return showError(reply, 400, 'Choose one of the patients listed.');
    return finish(reply, session, requestId, pending, chosen, wantsPatientContext(pending.approved));
  });
}
