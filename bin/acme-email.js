#!/usr/bin/env node
// The `acme-email` command: runs src/cli/main.ts through tsx, so the command line uses the very
// same TypeScript modules as the add-on, with no second build.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
