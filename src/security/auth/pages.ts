import { scopeWords } from './scope-words';

/**
 * The authorization server's HTML pages: sign-in, approval, patient picker
 * and error. Plain server-rendered forms, no script, no external asset (the
 * stylesheet is /auth/style.css); every value is escaped. Labels follow the
 * page contract of docs/authorization-server.md.
 */

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char);

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – Concord</title><link rel="stylesheet" href="/auth/style.css"></head>
<body><main><h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
}

export const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;

export interface FormContext {
  csrf: string;
  request: string;
}

export const formFields = (context: FormContext) => `${hidden('csrf', context.csrf)}${hidden('request', context.request)}`;

export function loginPage(context: FormContext, clientName: string, message?: string): string {
  return page(
    'Sign in',
    `<p>Sign in to let <strong>${escapeHtml(clientName)}</strong> use your health record.</p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/auth/login">${formFields(context)}
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function approvalPage(context: FormContext, clientName: string, scopes: readonly string[]): string {
  const boxes = scopes
    .map(
      (scope, index) =>
        `<li><input type="checkbox" id="scope-${index}" name="scope" value="${escapeHtml(scope)}" checked><label for="scope-${index}">${escapeHtml(scopeWords(scope))}</label></li>`,
    )
    .join('\n');
  return page(
    'Allow access?',
    `<p><strong>${escapeHtml(clientName)}</strong> asks to:</p>
<form method="post" action="/auth/approve">${formFields(context)}
<fieldset><legend>Untick anything you do not want to allow</legend><ul class="scopes">
${boxes}
</ul></fieldset>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  );
}

export interface PatientChoice {
  /** The patient's id. */
  patient: string;
  name: string;
}

export function pickerPage(context: FormContext, choices: readonly PatientChoice[]): string {
  const radios = choices
    .map(
      (choice, index) =>
        `<li><input type="radio" id="patient-${index}" name="patient" value="${escapeHtml(choice.patient)}"${index === 0 ? ' checked' : ''} required><label for="patient-${index}">${escapeHtml(choice.name)}</label></li>`,
    )
    .join('\n');
  return page(
    'Choose a patient',
    `<form method="post" action="/auth/pick">${formFields(context)}
<fieldset><legend>Whose record do you want to open?</legend><ul class="patients">
${radios}
</ul></fieldset>
<button type="submit">Continue</button>
</form>`,
  );
}

export function errorPage(message: string): string {
  return page('Cannot continue', `<p class="error" role="alert">${escapeHtml(message)}</p><p>Go back to the app and start again.</p>`);
}

export const STYLESHEET = `
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b1b1b;line-height:1.5}
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px}
h1{font-size:1.5rem;margin-top:0}
label{display:block;margin:.75rem 0 .25rem}
input:not([type=checkbox]):not([type=radio]){width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #555;border-radius:4px}
ul{list-style:none;padding:0}li{display:flex;gap:.5rem;align-items:flex-start;margin:.5rem 0}li label{margin:0}
fieldset{border:1px solid #ccc;border-radius:4px}
button{margin-top:1rem;margin-right:.5rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:4px;background:#0b5cad;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b5cad;border:1px solid #0b5cad}
button:focus,input:focus{outline:3px solid #f5a623;outline-offset:2px}
.error{color:#a00000;font-weight:600}
`;
