'use strict';
// @sealsig/transport-conformance is published as ES modules only: it registers vitest suites, and vitest is
// ESM-only. This file is what `require('@sealsig/transport-conformance')` resolves to.
throw new Error('@sealsig/transport-conformance is ESM-only (it runs under vitest): use import');
