// `npm run lint:promises`: the project's rules plus two type-aware ones, kept out of `eslint src`
// because type-aware linting makes it about three times slower there. They catch a promise
// where a boolean or a void callback is expected (`!promise`, an async listener whose rejection
// nobody sees) and a promise nobody awaits, handles or marks `void`.
import base from './eslint.config.mjs';

export default [
  ...base,
  {
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
];
