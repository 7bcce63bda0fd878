/** Process, port and temp-folder helpers for tests: the same as the E2E harness and the demo use. */
export * from '../../scripts/harness/process';
