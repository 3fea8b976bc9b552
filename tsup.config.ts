import { defineConfig } from 'tsup';

// No `clean` here: the configs build concurrently and would delete each other's output;
// `npm run build` empties dist/ first.
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      ws: 'src/ws.ts',
      bun: 'src/bun.ts',
      client: 'src/client.ts',
      redis: 'src/redis.ts',
      prometheus: 'src/prometheus.ts',
      peerjs: 'src/peerjs.ts',
      'y-webrtc': 'src/y-webrtc.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    splitting: true,
  },
  {
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
  },
  {
    // The demo page the CLI serves at `/`: the client bundled for the browser, eventemitter3 included.
    entry: { demo: 'src/demo/main.ts' },
    outDir: 'dist/demo',
    publicDir: 'src/demo/public',
    format: ['esm'],
    platform: 'browser',
    target: 'es2020',
    noExternal: ['eventemitter3'],
    minify: true,
    sourcemap: true,
  },
]);
