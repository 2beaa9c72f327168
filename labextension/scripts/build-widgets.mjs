// Bundles the anywidget ESM entry (src/widget.ts) and the shared CSS into
// ../overmind_jupyter/widgets/static/ with esbuild. `--roundtrip` instead bundles the
// wire-schema round-trip script (test/roundtrip.ts) into test-build/ for Node.
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(here, '../overmind_jupyter/widgets/static');

if (process.argv.includes('--roundtrip')) {
  await build({
    entryPoints: [resolve(here, 'test/roundtrip.ts')],
    outfile: resolve(here, 'test-build/roundtrip.mjs'),
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
