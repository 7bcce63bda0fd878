/**
 * The module graph of src/acme has no cycle, type-only imports included: the layers point one
 * way (wire → resources → client), challenge plug-ins depend on ./types.ts and never on the
 * registry, and the default registry is built by the client. src/common and src/messages too.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';

const SRC = resolve(__dirname, '../../src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports and re-exports of a file (`import`, `import type`, `export … from`, dynamic `import()`), resolved to files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*'(\.[^']+)'|import\('(\.[^']+)'\)/g)].map((m) => m[1] ?? m[2]!);
  return specs.map((spec) => {
    const base = resolve(dirname(file), spec);
    for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not this one
      }
    }
    throw new Error(`${relative(SRC, file)} imports "${spec}", which is not a file`);
  });
}

/** Every cycle (as a path of files relative to `root`) among the files under `root`/`folder`. */
function cycles(folder: string, root = SRC): string[] {
  const nodes = filesUnder(join(root, folder));
  const inside = new Set(nodes);
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const visit = (node: string, path: string[]): void => {
    state.set(node, 'open');
    for (const next of importsOf(node).filter((f) => inside.has(f))) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), node, next].map((f) => relative(root, f)).join(' → '));
      else if (!state.has(next)) visit(next, [...path, node]);
    }
    state.set(node, 'done');
  };
  for (const node of nodes) if (!state.has(node)) visit(node, []);
  return found;
}

describe('import graph', () => {
  const tmp = makeTempDir('import-cycles');
  afterAll(() => {
    tmp.remove();
  });

  it('finds a cycle made of type-only imports (the checker itself works)', () => {
    mkdirSync(join(tmp.path, 'm/sub'), { recursive: true });
    writeFileSync(join(tmp.path, 'm/a.ts'), "import { b } from './sub/b';\nexport const a = b;\n");
    writeFileSync(join(tmp.path, 'm/sub/b.ts'), "import type { C } from '../c';\nexport const b = 1;\n");
    writeFileSync(join(tmp.path, 'm/c.ts'), "export type C = 1;\nexport { a } from './a';\n");
    expect(cycles('m', tmp.path)).toEqual(['m/a.ts → m/sub/b.ts → m/c.ts → m/a.ts']);
    expect(importsOf(join(SRC, 'acme/client.ts')).map((f) => relative(SRC, f))).toContain('acme/challenges/email-reply.ts');
  });

  it.each(['acme', 'common', 'messages'])('src/%s has no import cycle', (folder) => {
    expect(cycles(folder)).toEqual([]);
  });
});
