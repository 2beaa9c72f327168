// Bundles the anywidget ESM entry (src/widget.ts) and the shared CSS into
// ../overmind_jupyter/widgets/static/ with esbuild. `--tests` instead bundles the Node
// scripts the Python tests drive (test/*.ts: wire round trip, ANSI) into test-build/.
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(here, '../overmind_jupyter/widgets/static');

if (process.argv.includes('--tests')) {
  await build({
    entryPoints: ['roundtrip', 'ansi', 'tree'].map(name => resolve(here, `test/${name}.ts`)),
    outdir: resolve(here, 'test-build'), outExtension: { '.js': '.mjs' },
    bundle: true, format: 'esm', platform: 'node', target: 'node18', logLevel: 'warning'
  });
} else {
  await build({
    entryPoints: [resolve(here, 'src/widget.ts')],
    outfile: resolve(out, 'overmind.js'),
    bundle: true, format: 'esm', target: 'es2022', minify: true, legalComments: 'none',
    logLevel: 'warning'
  });
  await build({
    entryPoints: [resolve(here, 'style/overmind.css')],
    outfile: resolve(out, 'overmind.css'),
    bundle: true, minify: true, logLevel: 'warning'
  });
}
