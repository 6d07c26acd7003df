// ESLint (flat config) for the page's JS (www/*.js) and the JS tests
// (tests/**/*.mjs): ESLint's recommended rules, each file with the globals
// of where it runs. The packages are the browser tests' devDependencies
// (tests/browser/package.json, installed by npm ci there):
//
//   wasm/tests/browser/node_modules/.bin/eslint --max-warnings 0 wasm
import { createRequire } from 'node:module';

const require = createRequire(new URL('./tests/browser/package.json', import.meta.url));
const js = require('@eslint/js');
const globals = require('globals');

export default [
  { ignores: ['tests/browser/node_modules/'] },
  js.configs.recommended,
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  // The page's modules (some also load in the workers: zip.js,
  // read-error.js); the dedicated (module) workers; sequence.js, shared
  // with Node (tests/vectors.mjs): the language's globals only.
  { files: ['www/*.js'], ignores: ['www/*-worker.js', 'www/sequence.js'], languageOptions: { globals: globals.browser } },
  { files: ['www/*-worker.js'], languageOptions: { globals: globals.worker } },
  // The tests and this file: Node. (e2e.mjs's page.evaluate callbacks run
  // in the page, hence the browser globals too.)
  { files: ['tests/**/*.mjs', 'eslint.config.js'], languageOptions: { globals: globals.node } },
  { files: ['tests/browser/*.mjs'], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
];
