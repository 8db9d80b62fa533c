/**
 * Converts FHIR date/dateTime/instant text into the inclusive range of epoch
 * milliseconds it covers, according to its precision: `2020` covers the whole
 * year, `2020-03-04T10:00:00Z` covers one second.
 *
 * Time zones: a value with a time carries an offset (FHIR requires it for a
 * dateTime with a time) and is converted to UTC. A value without one (a date,
 * a partial date, or a search value written without a zone) is taken as UTC.
 * The spec leaves that to the server; choosing UTC makes the index independent
 * of the machine's zone, and the parser uses the same function, so a stored
 * `2020-01-01` and a searched `2020-01-01` always describe the same range.
 */

/** Open ends of a range (Period without start or end): the extremes of a JS Date. */
export const MIN_INSTANT = -8.64e15;
export const MAX_INSTANT = 8.64e15;

export interface InstantRange {
  /** First millisecond covered. */
  low: number;
  /** Last millisecond covered (inclusive). */
  high: number;
}

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The range covered by `text`, or undefined when it is not a FHIR date, dateTime or instant. */
export function dateRange(text: string): InstantRange | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > daysInMonth(year, month!))) return undefined;

  if (h === undefined) {
    // Date precision: whole year, month or day.
    const low = utc(year, (month ?? 1) - 1, day ?? 1);
    const end =
      day !== undefined ? utc(year, month! - 1, day + 1) : month !== undefined ? utc(year, month, 1) : utc(year + 1, 0, 1);
    return { low, high: end - 1 };
  }

  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 24 || minute > 59 || second > 60) return undefined;
  const millis = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const offsetMs = zoneOffsetMs(zone);
  if (offsetMs === undefined) return undefined;
  const low = utc(year, month! - 1, day!, hour, minute, second, millis) - offsetMs;
  // Precision of the written value: minutes, seconds or milliseconds (finer digits are below our resolution).
  const span = s === undefined ? 60_000 : frac === undefined ? 1_000 : 1;
  return { low, high: low + span - 1 };
}

function utc(year: number, monthIndex: number, day: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const d = new Date(Date.UTC(year, monthIndex, day, h, mi, s, ms));
  // Date.UTC reads years 0..99 as 1900..1999.
  if (year < 100) d.setUTCFullYear(d.getUTCFullYear() - 1900);
  return d.getTime();
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Milliseconds east of UTC; a missing zone is UTC (see the module comment). */
function zoneOffsetMs(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes) * 60_000;
}
