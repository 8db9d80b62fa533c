// ESLint (typescript-eslint's parser) encodes the layering of docs/architecture.md:
// a module may import from its own floor and the floors below, never above.
// Type-only imports upward are refused too, except where a file below names
// a contract type of a floor above (listed at the end, each with its reason).
import tseslint from 'typescript-eslint';

/** The floors, bottom first; each entry is the folders (or files) on it. */
const FLOORS = [
  ['errors', 'fhir', 'paths', 'version', 'config'],
  ['context'],
  ['search', 'terminology', 'validation', 'match', 'forms'],
  ['storage'],
  ['scheduling'],
  ['security'],
  ['subscriptions'],
  ['interactions', 'export'],
  ['operations', 'claims'],
  ['rest'],
  ['http'],
];

const filesOf = (name) => (['errors', 'paths', 'version', 'config', 'context'].includes(name) ? [`src/${name}.ts`] : [`src/${name}/**/*.ts`]);
const importsOf = (name) => [`**/${name}`, `**/${name}/**`, `./${name}`, `./${name}/**`];

/** One block per floor: importing any floor above it is an error. */
const layering = FLOORS.slice(0, -1).map((floor, level) => {
  const above = FLOORS.slice(level + 1).flat();
  return {
    files: floor.flatMap(filesOf),
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: above.flatMap(importsOf), message: `An upward import: ${floor.join('/')} may not depend on ${above.join(', ')} (docs/architecture.md).` },
          ],
        },
      ],
    },
  };
});

/** Files that name a type of a higher floor, and why; their value imports stay checked. */
const TYPE_EXCEPTIONS = [
  // Stored terminology is read through the storage port's search.
  'src/terminology/stored-terminology.ts',
  // Match candidates are found with the storage port's search.
  'src/match/candidates.ts',
];

const typeExceptions = TYPE_EXCEPTIONS.map((file) => {
  const floor = FLOORS.findIndex((names) => names.some((name) => file === `src/${name}.ts` || file.startsWith(`src/${name}/`)));
  const above = FLOORS.slice(floor + 1).flat();
  return {
    files: [file],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: above.flatMap(importsOf), allowTypeImports: true, message: `An upward import: only types may come from ${above.join(', ')} here.` },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tap/**', '.bench-base/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    // Only the layering is enforced for now; directives written for other rules stay until those rules are on.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
  },
  ...layering,
  ...typeExceptions,
);
