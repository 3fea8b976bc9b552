#!/usr/bin/env node
// `npm start`: the standalone server from this checkout. In order: checks the
// port is free (a second `npm start` stops here, before it touches dist/),
// builds silently when dist/ is missing or older than the sources, then runs
// dist/cli.js with the arguments given (`npm start -- --port 9091`).
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildIfStale } from './build-if-stale.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

/** The value of `--name` in args (`--name v` or `--name=v`), else the environment's. */
function option(name, envName) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return process.env[envName] || undefined;
}

function portIsFree(port, host) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

const port = Number(option('port', 'PORT') ?? 9090);
const host = option('host', 'HOST');
// The CLI reports bad values itself; only a well-formed, fixed port is probed here.
if (Number.isInteger(port) && port > 0 && port < 65536 && !args.includes('--help') && !args.includes('-h')) {
  let free = true;
  try {
    free = await portIsFree(port, host);
  } catch {
    // EACCES, EADDRNOTAVAIL…: the CLI says it in its own words.
  }
  if (!free) {
    process.stderr.write(
      `signalling-hub: port ${port} is already in use (another \`npm start\`?): stop that server, or choose another port: npm start -- --port ${port + 1}\n`,
    );
    process.exit(1);
  }
}

buildIfStale();

await import(pathToFileURL(join(root, 'dist/cli.js')).href);
