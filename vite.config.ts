// Builds the add-on into dist/: background (module event page), popup and options pages,
// plus the files Thunderbird reads as they are (manifest, locales, icons, managed-storage
// schema and the Experiment, which must stay a classic script and is copied unbundled).
import { defineConfig, type Plugin } from 'vite';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const here = import.meta.dirname;
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')) as { version: string };

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Emits the static parts of the add-on, stamping the manifest with package.json's version. */
function addonStatic(): Plugin {
  const copied = ['_locales', 'icons', 'experiments'];
  return {
    name: 'addon-static',
    generateBundle() {
      const manifest = JSON.parse(readFileSync(join(here, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      manifest['version'] = pkg.version;
      this.emitFile({ type: 'asset', fileName: 'manifest.json', source: JSON.stringify(manifest, null, 2) });
      this.emitFile({ type: 'asset', fileName: 'managed-schema.json', source: readFileSync(join(here, 'managed-schema.json')) });
      for (const dir of copied) {
        for (const file of listFiles(join(here, dir))) {
          this.emitFile({ type: 'asset', fileName: relative(here, file), source: readFileSync(file) });
        }
      }
    },
  };
}

export default defineConfig({
  root: resolve(here, 'src'),
  base: './',
  publicDir: false,
  plugins: [addonStatic()],
  build: {
    outDir: resolve(here, 'dist'),
    emptyOutDir: true,
    target: 'firefox128',
    minify: true,
    sourcemap: false,
    modulePreload: false,
    reportCompressedSize: false,
    rollupOptions: {
      input: {
        background: resolve(here, 'src/background/main.ts'),
        popup: resolve(here, 'src/popup/popup.html'),
        options: resolve(here, 'src/options/options.html'),
      },
      output: {
        entryFileNames: '[name].js',
        chunkFileNames: 'chunks/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
});
