import { escapeHtml, formFields, page, type FormContext, type PatientChoice } from './pages';

/**
 * A Practitioner user's patient picker: a name search (field "Patient name",
 * button "Search") and, below it, the patients the search found among those
 * the practitioner may see, one radio button each labelled with the
 * patient's name, and the button "Continue" (the page contract of
 * docs/authorization-server.md). Both forms post to /auth/pick.
 */
export function practitionerPickerPage(context: FormContext, search: string, choices: readonly PatientChoice[], more: boolean): string {
  const radios = choices
    .map(
      (choice, index) =>
        `<li><input type="radio" id="patient-${index}" name="patient" value="${escapeHtml(choice.patient)}"${index === 0 ? ' checked' : ''} required><label for="patient-${index}">${escapeHtml(choice.name)}</label></li>`,
    )
    .join('\n');
  const results =
    choices.length === 0
      ? `<p role="status">No patient you may see matches${search ? ` “${escapeHtml(search)}”` : ''}.</p>`
      : `<form method="post" action="/auth/pick">${formFields(context)}
<fieldset><legend>Whose record do you want to open?</legend><ul class="patients">
${radios}
</ul></fieldset>
${more ? '<p role="status">More patients match: type more of the name to narrow the list.</p>\n' : ''}<button type="submit">Continue</button>
</form>`;
  return page(
    'Choose a patient',
    `<form method="post" action="/auth/pick" role="search">${formFields(context)}
<label for="search">Patient name</label><input id="search" name="search" value="${escapeHtml(search)}" autocomplete="off">
<button type="submit" class="secondary">Search</button>
</form>
${results}`,
  );
}
