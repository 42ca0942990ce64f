// Type-aware linting for src/, test/ and bench/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The browser globals web/*.js uses (a short list rather than the `globals` package).
const WEB_GLOBALS = 'window document location history sessionStorage fetch URL FormData performance'
  .concat(' setTimeout setInterval clearInterval ResizeObserver')
  .split(' ');

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'scratch/', '.cache/', 'web/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Fastify plugins and handlers are async by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    // The web page runs in a browser.
    files: ['web/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(WEB_GLOBALS.map((name) => [name, 'readonly'])),
    },
  },
);
