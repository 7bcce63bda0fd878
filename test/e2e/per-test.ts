/**
 * Vitest hooks for E2E files whose tests each start their own world (kept apart from world.ts,
 * which the demo and the benchmarks use outside Vitest).
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { makeTempDir, type TempDir } from '../helpers/process';
import { buildXpi } from '../../scripts/harness/thunderbird';
import { startWorld, type World, type WorldOptions } from '../../scripts/harness/world';

/**
 * For a file whose tests each start their own world: registers the hooks that build one `.xpi`
 * for the file, dispose each world after its test and remove the build at the end. Returns the
 * function a test starts its world with.
 */
export function worldPerTest(): (options?: Omit<WorldOptions, 'xpiPath'>) => Promise<World> {
  let build: TempDir | undefined;
  let xpiPath = '';
  let world: World | undefined;
  beforeAll(() => {
    build = makeTempDir('ocs-e2e-build');
    xpiPath = buildXpi(build.path);
  });
  afterEach(async () => {
    await world?.dispose();
    world = undefined;
  });
  afterAll(() => {
    build?.remove();
  });
  return async (options = {}) => {
    world = await startWorld({ ...options, xpiPath });
    return world;
  };
}
