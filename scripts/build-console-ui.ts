/**
 * Bundles the web console's front end (src/console/ui) into dist/console-ui/app.js and
 * app.css with esbuild. Run by `npm run build`; the browser tests call it too so they always
 * test the current sources.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function buildConsoleUi(outdir = `${root}dist/console-ui`): Promise<void> {
  await build({
    entryPoints: { app: `${root}src/console/ui/main.ts` },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    outdir,
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsoleUi();
}
