import type { PropertyDef } from './element-model';

/**
 * Plain-JS evaluation of the invariants that only test whether elements are
 * there: `contained.contained.empty()`, `code.empty() or system.exists()`,
 * `extension.exists() != value.exists()`, `(a.exists() and b.empty()) or c.exists()`...
 * About half of the R4 invariants, and the most frequent ones (dom-2, dom-4,
 * dom-5 on every resource, ext-1, qty-3), have this form; fhirpath.js costs
 * tens of microseconds for each, this a few hundred nanoseconds.
 *
 * The grammar: `implies`, `or`, `xor`, `and`, `=`, `!=` and parentheses over terms
 * `path.empty()` / `path.exists()`, each optionally followed by `.not()`.
 * Nothing else compiles (the caller then uses fhirpath.js).
 *
 * A verdict is true, false or undefined: undefined ("ask fhirpath.js") when
 * the JSON alone does not settle it exactly, e.g. a path of several steps
 * whose first element is present, or a primitive present only by its `_x`
 * extensions. Such terms cannot throw in fhirpath.js, so `true or <undefined>`
 * is still true there, and here.
 */

export type Verdict = boolean | undefined;

/** Evaluates a compiled expression on one node; `properties` are the node type's (choice elements), when known. */
export type PresenceCheck = (node: Record<string, unknown>, properties: Readonly<Record<string, PropertyDef>> | undefined) => Verdict;

type Token = string;

const TOKEN = /\s*(\(|\)|!=|=|\.|[A-Za-z][A-Za-z0-9]*)/y;

function tokenize(expression: string): Token[] | undefined {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expression.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(expression);
    if (!match) return /^\s*$/.test(expression.slice(start)) ? tokens : undefined;
    tokens.push(match[1]!);
  }
  return tokens;
}

const KEYWORDS: ReadonlySet<string> = new Set(['or', 'xor', 'and', 'implies', 'not', 'empty', 'exists', 'true', 'false', 'in', 'is', 'as', 'div', 'mod']);

/** Compiles `expression` when it is in the grammar above; undefined otherwise. */
export function compilePresenceCheck(expression: string): PresenceCheck | undefined {
  const tokens = tokenize(expression);
  if (!tokens) return undefined;
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected: string): boolean => (tokens[at] === expected ? (at++, true) : false);

  // FHIRPath precedence, loosest first: implies, or/xor, and, =/!=.
  const implies = (): PresenceCheck | undefined => {
    let left = or();
    while (left && take('implies')) {
      const right = or();
      if (!right) return undefined;
      left = implication(left, right);
    }
    return left;
  };
  const or = (): PresenceCheck | undefined => {
    let left = and();
    while (left && (peek() === 'or' || peek() === 'xor')) {
      const op = tokens[at++];
      const right = and();
      if (!right) return undefined;
      left = op === 'or' ? junction(left, right, true) : exclusive(left, right);
    }
    return left;
  };
  const and = (): PresenceCheck | undefined => {
    let left = equality();
    while (left && take('and')) {
      const right = equality();
      if (!right) return undefined;
      left = junction(left, right, false);
    }
    return left;
  };
  const equality = (): PresenceCheck | undefined => {
    const left = term();
    if (!left) return undefined;
    const op = peek();
    if (op !== '=' && op !== '!=') return left;
    at++;
    const right = term();
    if (!right) return undefined;
    return op === '=' ? same(left, right) : exclusive(left, right);
  };
  const term = (): PresenceCheck | undefined => {
    let check: PresenceCheck | undefined;
    if (take('(')) {
      check = implies();
      if (!check || !take(')')) return undefined;
    } else {
      check = presenceTerm();
    }
    while (check && peek() === '.' && tokens[at + 1] === 'not' && tokens[at + 2] === '(' && tokens[at + 3] === ')') {
      at += 4;
      check = negated(check);
    }
    return check;
  };
  const presenceTerm = (): PresenceCheck | undefined => {
    const path: string[] = [];
    for (;;) {
      const name = tokens[at];
      if (name === undefined || !/^[A-Za-z]/.test(name)) return undefined;
      at++;
      if ((name === 'empty' || name === 'exists') && path.length > 0) {
        if (!take('(') || !take(')')) return undefined;
        const wantEmpty = name === 'empty';
        return (node, properties) => {
          const found = pathFound(node, path, properties);
          return found === undefined ? undefined : found !== wantEmpty;
        };
      }
      if (KEYWORDS.has(name)) return undefined;
      path.push(name);
      if (!take('.')) return undefined;
    }
  };

  const check = implies();
  return check && at === tokens.length ? check : undefined;
}

/** `a implies b`: true when a is false or b is true (FHIRPath's three-valued table; unknown otherwise). */
function implication(a: PresenceCheck, b: PresenceCheck): PresenceCheck {
  return (node, props) => {
    const x = a(node, props);
    if (x === false) return true;
    const y = b(node, props);
    if (y === true) return true;
    return x === true && y === false ? false : undefined;
  };
}

/** `or` (decided by any true side) and `and` (decided by any false side), in three-valued logic. */
function junction(a: PresenceCheck, b: PresenceCheck, decisive: boolean): PresenceCheck {
  return (node, props) => {
    const x = a(node, props);
    if (x === decisive) return decisive;
    const y = b(node, props);
    if (y === decisive) return decisive;
    return x === !decisive && y === !decisive ? !decisive : undefined;
  };
}

function exclusive(a: PresenceCheck, b: PresenceCheck): PresenceCheck {
  return both(a, b, (x, y) => x !== y);
}

function same(a: PresenceCheck, b: PresenceCheck): PresenceCheck {
  return both(a, b, (x, y) => x === y);
}

function both(a: PresenceCheck, b: PresenceCheck, combine: (x: boolean, y: boolean) => boolean): PresenceCheck {
  return (node, props) => {
    const x = a(node, props);
    const y = x === undefined ? undefined : b(node, props);
    return x === undefined || y === undefined ? undefined : combine(x, y);
  };
}

function negated(a: PresenceCheck): PresenceCheck {
  return (node, props) => {
    const x = a(node, props);
    return x === undefined ? undefined : !x;
  };
}

/**
 * Whether `path` selects anything in `node`: steps through objects and arrays
 * by exact names. Undefined when only fhirpath.js can tell: `_x` companions,
 * a name that may be a choice element of a type not known here (only the
 * node's own properties are), null or empty arrays, steps into primitives.
 */
function pathFound(node: Record<string, unknown>, path: readonly string[], properties: Readonly<Record<string, PropertyDef>> | undefined): Verdict {
  let current: unknown[] = [node];
  for (const [step, name] of path.entries()) {
    const next: unknown[] = [];
    for (const item of current) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
      const values = childValues(item as Record<string, unknown>, name, step === 0 ? properties : undefined);
      if (!values) return undefined;
      next.push(...values);
    }
    if (next.length === 0) return false;
    current = next;
  }
  return true;
}

/** The values of element `name` of `node` (arrays flattened), or undefined when that is not certain. */
function childValues(node: Record<string, unknown>, name: string, properties: Readonly<Record<string, PropertyDef>> | undefined): unknown[] | undefined {
  const choice = `${name}[x]`;
  const values: unknown[] = [];
  for (const key of Object.keys(node)) {
    const companion = key.startsWith('_');
    const bare = companion ? key.slice(1) : key;
    let matches: boolean;
    if (bare === name) matches = true;
    else if (!bare.startsWith(name) || !/^[A-Z]/.test(bare.slice(name.length))) matches = false;
    else if (properties) matches = properties[bare]?.choice === choice;
    else return undefined;
    const value = node[key];
    // A key set to undefined is absent, as in the JSON it stands for.
    if (!matches || value === undefined) continue;
    if (companion || value === null || (Array.isArray(value) && value.length === 0)) return undefined;
    if (Array.isArray(value)) values.push(...value);
    else values.push(value);
  }
  return values;
}
