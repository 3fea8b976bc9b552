// Measures what `signalling-hub/client` adds to a browser bundle: esbuild bundles
// src/client.ts with eventemitter3, minifies it, and gzip -9 compresses the result.
// Run: node scripts/client-size.mjs
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

async function measure(label, contents) {
  const result = await build({
    stdin: { contents, resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
  });
  const code = result.outputFiles[0].contents;
  const gzipped = gzipSync(code, { level: 9 }).length;
  process.stdout.write(`${label}: ${code.length} B minified, ${gzipped} B minified+gzipped\n`);
}

await measure('signalling-hub/client (everything)', "export * from './src/client.ts';");
await measure('SignallingClient alone', "export { SignallingClient } from './src/client.ts';");
