/**
 * FHIR publishes its primitive regexes in XML Schema syntax, where `\s` is
 * only space, tab, CR and LF. In JavaScript `\s` also matches NBSP and the
 * other Unicode spaces, so `[ \r\n\t\S]+` (FHIR's `string`) would reject text
 * containing a non-breaking space. This rewrites `\s` and `\S` to their XML
 * Schema meaning; the rest of the syntax the FHIR regexes use is common to both.
 */
const XML_SPACE = ' \\t\\n\\r';
/** Characters JavaScript calls whitespace and XML Schema does not. */
const JS_ONLY_SPACE = '\\f\\v\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

export function xmlSchemaRegexToJs(regex: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i]!;
    if (c === '\\') {
      const next = regex[i + 1] ?? '';
      i++;
      if (next === 's') out += inClass ? XML_SPACE : `[${XML_SPACE}]`;
      else if (next === 'S') out += inClass ? `\\S${JS_ONLY_SPACE}` : `[\\S${JS_ONLY_SPACE}]`;
      else out += c + next;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}
