// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** The core folders run unchanged in Node and Thunderbird: no extension APIs there (docs/ARCHITECTURE.md, "Layers"). */
const coreFolders = ['src/acme/**', 'src/messages/**', 'src/pkcs12/**', 'src/enroll/**', 'src/common/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'artifacts/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // Template literals with numbers are idiomatic for log lines and ids.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // noUncheckedIndexedAccess makes every typed-array read `T | undefined`; byte-level code
      // checks its bounds in the loop conditions, so `!` there states a proven fact.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // A leading underscore marks a parameter an interface requires but this body does not read.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: coreFolders,
    rules: {
      'no-restricted-globals': ['error',
        { name: 'browser', message: 'Core folders never touch extension APIs; inject a port instead.' },
        { name: 'messenger', message: 'Core folders never touch extension APIs; inject a port instead.' }],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/background/**', '**/popup/**', '**/options/**', 'webextension-polyfill'], message: 'Layers point down only (docs/ARCHITECTURE.md, "Layers").' },
      ] }],
    },
  },
  {
    files: ['src/background/**', 'src/popup/**', 'src/options/**'],
    languageOptions: { globals: { ...globals.browser, messenger: 'readonly', browser: 'readonly' } },
  },
  {
    // Privileged Experiment code: a classic script evaluated by Thunderbird, not a module.
    files: ['experiments/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      parserOptions: { projectService: false },
      sourceType: 'script',
      globals: { ChromeUtils: 'readonly', Components: 'readonly', Cc: 'readonly', Ci: 'readonly', ExtensionUtils: 'readonly', Services: 'readonly', ExtensionCommon: 'readonly', ExtensionAPI: 'readonly', IOUtils: 'readonly', PathUtils: 'readonly' },
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ignores: ['experiments/**'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { parserOptions: { projectService: false } },
  },
);
