#!/usr/bin/env node
import { parseCliArgs, usage } from './cli/args.js';
import { startStandalone } from './cli/server.js';

async function main(): Promise<void> {
  let options;
  try {
    options = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`signalling-hub: ${(error as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(usage);
    return;
  }
  const running = await startStandalone(options);
  running.hub.on('error', (error) => process.stderr.write(`signalling-hub: ${error.message}\n`));
  process.stdout.write(`signalling-hub listening on ${running.url}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`signalling-hub: ${signal}, shutting down\n`);
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`signalling-hub: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
