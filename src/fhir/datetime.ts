/** FHIR `dateTime`/`instant` as written in a query: a year at least, a time zone required once a time is given. */
const DATE_TIME = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d{1,9})?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$/;

/**
 * The instant a FHIR date/dateTime value starts at, as an ISO string in UTC
 * with milliseconds (the form `meta.lastUpdated` is stored in), or undefined
 * when the value is not a valid dateTime. A value without a time is taken as UTC.
 */
export function startInstant(value: string): string | undefined {
  if (!DATE_TIME.test(value)) return undefined;
  const padded = value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value;
  const date = new Date(padded);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
