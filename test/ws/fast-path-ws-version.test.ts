import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { SignallingHub, type SignallingHubError } from '../../src/index.js';
import { attach } from '../../src/ws.js';
import { fullConversation } from './conversation.js';

// A ws version outside the range the fast path was tested with.
vi.mock('../../src/transports/ws/fast-path/version.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/transports/ws/fast-path/version.js')>()),
  installedWsVersion: () => '8.20.0',
}));

describe('with a ws version outside the tested range', () => {
  it('keeps to ws public API, says so once per hub on its warning event, and serves the same conversation', async () => {
    const server = createServer();
    const hub = new SignallingHub();
    const warnings: SignallingHubError[] = [];
    hub.on('warning', (warning) => warnings.push(warning));
    const attachments = ['/', '/a', '/b'].map((path) => attach(hub, server, { path }));
    expect(attachments.map((attachment) => attachment.fastPath)).toEqual([false, false, false]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'SH_ERR_TRANSPORT' });
    expect(warnings[0]!.message).toMatch(/ws 8\.20\.0 .*>=8\.21 <9/);

    // Once per hub: another hub hears it too.
    const other = new SignallingHub();
    const otherWarnings: unknown[] = [];
    other.on('warning', (warning) => otherWarnings.push(warning));
    attachments.push(attach(other, server, { path: '/c' }));
    expect(otherWarnings).toHaveLength(1);
    // Not when the host turned the fast path off anyway.
    const quiet = new SignallingHub();
    const quietWarnings: unknown[] = [];
    quiet.on('warning', (warning) => quietWarnings.push(warning));
    attachments.push(attach(quiet, server, { path: '/d', fastPath: false }));
    expect(quietWarnings).toEqual([]);

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await fullConversation({ url: `ws://127.0.0.1:${port}/`, port });
    expect(warnings).toHaveLength(1);

    for (const attachment of attachments) await attachment.close();
    for (const each of [hub, other, quiet]) await each.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
});
