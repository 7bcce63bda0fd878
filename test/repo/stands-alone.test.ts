/**
 * The repository stands alone: a reader needs nothing outside it. No tracked source or doc file
 * cites design notes kept elsewhere, a path that leaves the repository, or a tracker's issue
 * number; the facts the code rests on are in docs/ (docs/ADDON.md "Thunderbird facts",
 * docs/MESSAGES.md "RFC 8823 facts that are easy to get wrong", docs/ARCHITECTURE.md). And every
 * path the code and the docs point a reader to exists.
 *
 * The patterns below are written as regular expressions, so this file does not match itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Source and documentation, by extension; data (fixtures, lock files) is not read. */
const SOURCE_OR_DOC = /\.(?:ts|js|mjs|cjs|md|sh|json|html|css|ya?ml)$/;
const NOT_PROSE = new Set(['package-lock.json']);

function trackedFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((file) => SOURCE_OR_DOC.test(file) && !NOT_PROSE.has(file) && !file.startsWith('test/fixtures/'))
    .concat(
      // Fixtures are data, but their READMEs and generators are prose and code.
      out.split('\0').filter((file) => file.startsWith('test/fixtures/') && /\.(?:md|ts)$/.test(file)),
    )
    .filter((file) => existsSync(join(ROOT, file)));
}

function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

interface Hit {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

function hits(files: readonly string[], pattern: RegExp, keep: (match: RegExpExecArray, file: string) => boolean = () => true): Hit[] {
  const out: Hit[] = [];
  for (const file of files) {
    read(file).split('\n').forEach((text, index) => {
      const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (keep(m, file)) out.push({ file, line: index + 1, text: m[0] });
      }
    });
  }
  return out;
}

function lineOf(hit: Hit): string {
  return read(hit.file).split('\n')[hit.line - 1] ?? '';
}

/** True when `target`, read relative to the folder of `file`, lies outside the repository. */
function leavesRepository(file: string, target: string): boolean {
  const path = relative(ROOT, resolve(ROOT, dirname(file), target));
  return path === '..' || path.startsWith(`..${sep}`);
}

const files = trackedFiles();

describe('the repository stands alone', () => {
  it('reads a meaningful set of files', () => {
    // Guards the guard: if git or the filter broke, every check below would pass on nothing.
    expect(files).toContain('README.md');
    expect(files).toContain('src/messages/check.ts');
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThanOrEqual(5);
  });

  it('cites no design notes kept outside the repository', () => {
    expect(hits(files, /\b(?:DESIGN|STYLE)\.md\b/)).toEqual([]);
  });

  it('names no path outside the repository', () => {
    const absolute = hits(files, /\/work\/shared\b/);
    const relativeOut = hits(files, /(?:\.\.\/)+shared\/[\w./-]*/, (m, file) => leavesRepository(file, m[0]));
    // No folder of the repository is called "shared", so any relative path into one reads as a
    // citation of notes kept elsewhere, even where it would resolve inside.
    const anyShared = hits(files, /\.\.\/shared\//);
    expect([...absolute, ...relativeOut, ...anyShared]).toEqual([]);
  });

  it('cites no tracker issue number', () => {
    expect(hits(files, /\bissues? #?\d+/i)).toEqual([]);
  });

  it('recognises what it forbids', () => {
    // The checks above must fail on the citations they exist for.
    const probe = (text: string, pattern: RegExp): boolean => new RegExp(pattern.source, pattern.flags).test(text);
    expect(probe('see DESIGN' + '.md, "Thunderbird facts"', /\b(?:DESIGN|STYLE)\.md\b/)).toBe(true);
    expect(probe('Scenario 1 of iss' + 'ue 8', /\bissues? #?\d+/i)).toBe(true);
    // Paths built from parts, so that this file does not contain what it forbids.
    const outside = ['..', 'shared', 'x.md'].join('/');
    expect(leavesRepository('README.md', outside)).toBe(true);
    expect(probe(outside, /\.\.\/shared\//)).toBe(true);
    expect(leavesRepository('src/messages/mime.ts', '../common/encoding.ts')).toBe(false);
    expect(existsSync(join(ROOT, 'src', ['sha', 'red'].join('')))).toBe(false);
  });
});

describe('every path a reader is sent to exists', () => {
  const prose = files.filter((f) => f.startsWith('src/') || f.startsWith('docs/') || f === 'README.md');

  it('every docs/….md named in src/, docs/ and README.md', () => {
    const missing = hits(prose, /\bdocs\/[\w./-]+?\.md\b/, (m) => !existsSync(join(ROOT, m[0])));
    expect(missing).toEqual([]);
  });

  it('every repository path (src/, test/, scripts/, sandbox/, bench/, experiments/) named in src/, docs/ and README.md', () => {
    const missing = hits(
      prose,
      /(?<![\w./-])(?:src|test|scripts|sandbox|bench|experiments)\/[\w./-]*\w/,
      (m) => !existsSync(join(ROOT, m[0])),
    );
    expect(missing).toEqual([]);
  });

  it('every ./ or ../ path a source comment names, from the file that names it', () => {
    const missing = hits(
      files.filter((f) => f.startsWith('src/')),
      /(?<![\w.])\.\.?\/[\w./-]+\.(?:ts|md|json)\b/,
      (m, file) => !existsSync(resolve(ROOT, dirname(file), m[0])),
    ).filter((hit) => !/^\s*(?:import|export)\b|\bfrom '|import\(/.test(lineOf(hit)));
    expect(missing).toEqual([]);
  });

  it('every `file.ts` a source comment names, next to it or from the root', () => {
    const missing = hits(
      files.filter((f) => f.startsWith('src/')),
      /`([\w./-]+\.ts)`/,
      (m, file) => {
        const name = m[1] ?? '';
        return ![join(ROOT, dirname(file), name), join(ROOT, name)].some((p) => existsSync(p));
      },
    );
    expect(missing).toEqual([]);
  });
});
