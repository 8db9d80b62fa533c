/**
 * Calendar validity of FHIR date, dateTime and instant values. The spec's
 * regexes bound the day to 01-31 whatever the month, so 2021-02-30 and
 * 2021-04-31 match them; this is the check they leave out.
 */

const FULL_DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})/;

/**
 * False only when `value` starts with a complete date whose month is 01-12
 * and whose day is 01-31 but past the end of that month. Anything else
 * (partial dates, malformed values) is left to the regex, so that one bad
 * value gives one issue.
 */
export function dayExistsInMonth(value: string): boolean {
  const match = FULL_DATE_PREFIX.exec(value);
  if (!match) return true;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return true;
  return day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Gregorian rule, which FHIR dates follow (xs:date). */
function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}
