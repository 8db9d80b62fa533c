/**
 * The implied precision of a decimal as written (http://hl7.org/fhir/R4/search.html#number):
 * `100` stands for [99.5, 100.5], `100.00` for [99.995, 100.005], `1e2` for
 * [50, 150]. Both ends are reported; compilers treat the range as closed
 * (the exclusive upper end of the spec only matters on an exact boundary).
 */

/** Open ends of a Range without low or high: finite so that every database stores them. */
export const OPEN_LOW = -Number.MAX_VALUE;
export const OPEN_HIGH = Number.MAX_VALUE;

export interface NumberRange {
  value: number;
  low: number;
  high: number;
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** undefined when `text` is not a decimal number. */
export function numberRange(text: string): NumberRange | undefined {
  const m = DECIMAL.exec(text.trim());
  if (!m) return undefined;
  const fraction = m[3] ?? '';
  const exponent = m[4] === undefined ? 0 : Number(m[4]);
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  // Half a unit of the last written digit.
  const half = 0.5 * 10 ** (exponent - fraction.length);
  return { value, low: value - half, high: value + half };
}

/** The range of a number read from JSON, where the written precision is lost: its shortest text form. */
export function jsonNumberRange(value: number): NumberRange {
  return numberRange(String(value)) ?? { value, low: value, high: value };
}
