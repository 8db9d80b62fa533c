/**
 * The two ways a profile pins a value (ElementDefinition.fixed[x] and
 * pattern[x]), on JSON values.
 */

/** fixed[x]: the instance value must be exactly this value. */
export function equalsFixed(actual: unknown, fixed: unknown): boolean {
  if (Array.isArray(fixed)) {
    return Array.isArray(actual) && actual.length === fixed.length && fixed.every((f, i) => equalsFixed(actual[i], f));
  }
  if (isObject(fixed)) {
    if (!isObject(actual)) return false;
    const keys = Object.keys(fixed);
    return keys.length === Object.keys(actual).length && keys.every((k) => equalsFixed(actual[k], fixed[k]));
  }
  return actual === fixed;
}

/**
 * pattern[x]: the instance value must contain the pattern: every property of
 * the pattern present with a matching value, and every item of a pattern
 * array matched by some item of the instance array.
 */
export function matchesPattern(actual: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    return Array.isArray(actual) && pattern.every((p) => actual.some((a) => matchesPattern(a, p)));
  }
  if (isObject(pattern)) {
    return isObject(actual) && Object.entries(pattern).every(([k, p]) => matchesPattern(actual[k], p));
  }
  return actual === pattern;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
