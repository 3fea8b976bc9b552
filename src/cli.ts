#!/usr/bin/env node
import { parseCliArgs, UsageError, usage } from './cli/args.js';
import { checkRedisPackage } from './cli/cluster.js';
import { createLogger, type Logger } from './cli/log.js';
import { startStandalone } from './cli/server.js';
import { packageVersion } from './cli/version.js';

async function main(): Promise<void> {
  let options;
  try {
    options = parseCliArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`signalling-hub: ${error.message} (see signalling-hub --help)\n`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(usage);
    return;
  }
  const version = packageVersion();
  if (options.version) {
    process.stdout.write(`${version}\n`);
    return;
  }
  const log = createLogger({ level: options.logLevel, format: options.logFormat, limit: options.logLimit });
  fatal = log;
  if (options.redis !== undefined || options.redisCluster !== undefined) await checkRedisPackage();
  const running = await startStandalone(options, log);
  log.info(`listening on ${running.url}`, {
    demo: running.demoUrl,
    address: running.address,
    metrics: options.metrics ? `${running.demoUrl}metrics` : undefined,
    version,
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('stopping at once', { signal });
      log.flush();
      process.exit(1);
    }
    stopping = true;
    log.info('draining', { signal, peers: running.hub.size });
    running.drain(options.drainTimeout).then(
      () => {
        log.flush();
        log.info('shut down');
        process.exit(0);
      },
      (error: unknown) => {
        log.flush();
        log.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Where a failure to start is told: the logger once it exists. */
let fatal: Logger | undefined;

main().catch((error: unknown) => {
  const message = `cannot start: ${error instanceof Error ? error.message : String(error)}`;
  if (fatal !== undefined) fatal.error(message);
  else process.stderr.write(`signalling-hub: ${message}\n`);
  process.exit(1);
});
