/**
 * The search escaping rules (http://hl7.org/fhir/R4/search.html#escaping):
 * `\,` `\$` `\|` and `\\` stand for the literal character, so splitting on a
 * separator must skip escaped ones, and unescaping happens last, on each piece.
 */

/** Splits on every `separator` not preceded by an escaping backslash; the pieces stay escaped. */
export function splitUnescaped(text: string, separator: ',' | '$' | '|'): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === separator) {
      pieces.push(text.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** Removes the escaping backslashes: `a\,b` → `a,b`, `a\\b` → `a\b`. A lone other backslash is kept. */
export function unescape(text: string): string {
  return text.replace(/\\([,$|\\])/g, '$1');
}

/** The inverse of `unescape`: a literal value made safe to put in a search (`a,b` → `a\\,b`). */
export function escapeValue(text: string): string {
  return text.replace(/[,$|\\]/g, '\\$&');
}
