import { afterAll, beforeAll, describe } from 'vitest';
import type { TestTransportFactory } from './factory.js';
import { transports } from './transports.js';

/**
 * Runs one hub suite over every transport: the one `describe.each` of the
 * matrix (as graphql-ws runs `use.test.ts` over every server). `body` gets
 * the factory and writes its cases against it alone.
 */
export function describeMatrix(title: string, body: (factory: TestTransportFactory) => void): void {
  describe.each(transports)(`${title} — $name`, (factory) => {
    beforeAll(async () => {
      await factory.setup?.();
    });
    afterAll(async () => {
      await factory.teardown?.();
    });
    body(factory);
  });
}
