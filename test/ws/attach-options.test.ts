import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { HubClosedError, InvalidOptionError, SignallingHub, SignallingHubError } from '../../src/index.js';
import { type AttachOptions, attach, attachDefaults } from '../../src/ws.js';
import { TestClient } from '../helpers/test-client.js';

/** What attach() threw (or `undefined`). */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** The HTTP status of an upgrade with `origin`. */
function upgradeStatus(url: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, origin === undefined ? {} : { origin });
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(101);
      socket.close();
    });
    socket.on('error', reject);
  });
}

describe('attach() arguments', () => {
  const servers: Server[] = [];
  const hubs: SignallingHub[] = [];
  afterEach(async () => {
    for (const hub of hubs.splice(0)) await hub.close();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    }
  });
  const newServer = () => {
    const server = createServer();
    servers.push(server);
    return server;
  };
  const newHub = () => {
    const hub = new SignallingHub();
    hubs.push(hub);
    return hub;
  };

  it('has documented defaults', () => {
    expect(attachDefaults).toEqual({
      path: '/',
      origins: undefined,
      verifyUpgrade: undefined,
      trustProxy: undefined,
      maxConnectionsPerAddress: 0,
      connectionRate: false,
      heartbeatInterval: 30000,
      maxPayload: undefined,
      closeTimeout: 2000,
      unhandledUpgradeTimeout: 5000,
      fastPath: true,
    });
    expect(Object.isFrozen(attachDefaults)).toBe(true);
  });

  it('refuses an unknown option and suggests the one meant', () => {
    const server = newServer();
    const error = thrownBy(() => attach(newHub(), server, { pth: '/x' } as AttachOptions));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'SH_ERR_INVALID_OPTION', option: 'pth' });
    expect((error as Error).message).toMatch(/did you mean path\?/);
    expect(server.listenerCount('upgrade')).toBe(0);
  });

  it.each<[string, unknown, string]>([
    ['heartbeatInterval', -1, 'heartbeatInterval'],
    ['heartbeatInterval', 1.5, 'heartbeatInterval'],
    ['heartbeatInterval', '30s', 'heartbeatInterval'],
    ['maxPayload', 0, 'maxPayload'],
    ['maxPayload', -1, 'maxPayload'],
    ['maxPayload', Infinity, 'maxPayload'],
    ['closeTimeout', '2s', 'closeTimeout'],
    ['closeTimeout', NaN, 'closeTimeout'],
    ['unhandledUpgradeTimeout', -5, 'unhandledUpgradeTimeout'],
    ['path', 'nope', 'path'],
    ['path', '', 'path'],
    ['path', '/x?y=1', 'path'],
    ['path', '/x#top', 'path'],
    ['path', '/a b', 'path'],
    ['path', 42, 'path'],
    ['origins', 'http://good.example', 'origins'],
    ['origins', { 'http://good.example': true }, 'origins'],
    ['origins', ['https://app.example/'], 'origins[0]'],
    ['origins', ['https://app.example', 'HTTPS://OTHER.EXAMPLE'], 'origins[1]'],
    ['origins', ['app.example'], 'origins[0]'],
    ['origins', [42], 'origins[0]'],
    ['verifyUpgrade', true, 'verifyUpgrade'],
    ['fastPath', 'off', 'fastPath'],
    ['fastPath', 0, 'fastPath'],
  ])('refuses %s: %j', (key, value, option) => {
    const server = newServer();
    const error = thrownBy(() => attach(newHub(), server, { [key]: value }));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'SH_ERR_INVALID_OPTION', option });
    expect((error as InvalidOptionError).expected.length).toBeGreaterThan(0);
    expect((error as InvalidOptionError).given.length).toBeGreaterThan(0);
    expect(server.listenerCount('upgrade')).toBe(0);
  });

  it('refuses options that are not an object', () => {
    expect(thrownBy(() => attach(newHub(), newServer(), '/x' as AttachOptions))).toBeInstanceOf(InvalidOptionError);
  });

  it('takes every valid value', async () => {
    const attachment = attach(newHub(), newServer(), {
      path: '/a/b-c_d.e~f%20',
      origins: [],
      verifyUpgrade: () => true,
      heartbeatInterval: 0,
      maxPayload: 64,
      closeTimeout: 0,
      unhandledUpgradeTimeout: 0,
      fastPath: false,
    });
    expect(attachment.path).toBe('/a/b-c_d.e~f%20');
    await attachment.close();
    const withFunction = attach(newHub(), newServer(), { origins: () => true, path: undefined });
    expect(withFunction.path).toBe('/');
    await withFunction.close();
  });

  it('refuses an Express app in place of the server it listens with', () => {
    const app = express();
    const error = thrownBy(() => attach(newHub(), app as unknown as Server));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option: 'server', given: 'a function' });
    expect((error as Error).message).toMatch(/app\.listen\(\)/);
    expect(app.listenerCount('upgrade')).toBe(0);
    for (const server of [undefined, null, {}, { on() {} }]) {
      expect(thrownBy(() => attach(newHub(), server as unknown as Server))).toMatchObject({ option: 'server' });
    }
  });

  it('refuses a first argument that is not a hub', () => {
    for (const notHub of [undefined, {}, { options: { maxMessageBytes: 1 }, open() {} }, 'hub']) {
      const error = thrownBy(() => attach(notHub as unknown as SignallingHub, newServer()));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ option: 'hub' });
    }
  });

  it('refuses a closed hub with HubClosedError and adds no listener', async () => {
    const hub = newHub();
    await hub.close();
    const server = newServer();
    const error = thrownBy(() => attach(hub, server));
    expect(error).toBeInstanceOf(HubClosedError);
    expect(error).toMatchObject({ code: 'SH_ERR_HUB_CLOSED' });
    expect(server.listenerCount('upgrade')).toBe(0);
  });

  it('lets in exact origins only', async () => {
    const server = newServer();
    attach(newHub(), server, { origins: ['http://good.example'] });
    const url = `ws://127.0.0.1:${await listen(server)}/`;
    expect(await upgradeStatus(url, 'http://good.example')).toBe(101);
    for (const origin of ['http://good', 'http://good.example.evil', 'http://good.exampl', 'HTTP://GOOD.EXAMPLE', 'null']) {
      expect(await upgradeStatus(url, origin)).toBe(403);
    }
    expect(await upgradeStatus(url)).toBe(101);
  });

  it('answers 500 and reports a HookError when the origins function throws', async () => {
    const server = newServer();
    const hub = newHub();
    attach(hub, server, {
      origins: () => {
        throw new Error('origin store down');
      },
    });
    const errors: SignallingHubError[] = [];
    hub.on('error', (error) => errors.push(error));
    const url = `ws://127.0.0.1:${await listen(server)}/`;
    expect(await upgradeStatus(url, 'http://a.example')).toBe(500);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'SH_ERR_HOOK_FAILED', hook: 'origins' });
  });
});

describe('one path, one hub', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function serve(): Promise<{ server: Server; port: number }> {
    const server = createServer();
    const port = await listen(server);
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    return { server, port };
  }

  it('throws SH_ERR_ALREADY_ATTACHED on a second attach() of the path; the first keeps serving', async () => {
    const { server, port } = await serve();
    const first = new SignallingHub();
    const second = new SignallingHub();
    const attachment = attach(first, server, { path: '/s' });
    cleanups.push(() => attachment.close());
    for (const hub of [first, second]) {
      const error = thrownBy(() => attach(hub, server, { path: '/s' }));
      expect(error).toBeInstanceOf(SignallingHubError);
      expect(error).toMatchObject({ code: 'SH_ERR_ALREADY_ATTACHED' });
      expect((error as Error).message).toContain('"/s"');
    }
    // The first client would have crashed the host with two listeners on the path.
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/s`);
    expect(await client.login('first')).toMatchObject({ success: true });
    expect(first.size).toBe(1);
    client.close();
    // Another path of the same server is free.
    const other = attach(second, server, { path: '/t' });
    expect(server.listenerCount('upgrade')).toBe(1);
    await other.close();
  });

  it('lets the path be attached again once the attachment is closed', async () => {
    const { server, port } = await serve();
    const hub = new SignallingHub();
    const first = attach(hub, server, { path: '/again' });
    await first.close();
    expect(server.listenerCount('upgrade')).toBe(0);
    const again = attach(hub, server, { path: '/again' });
    cleanups.push(() => again.close());
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/again`);
    expect(await client.login('again')).toMatchObject({ success: true });
    client.close();
  });

  it("holds across two copies of the library on one server, and each copy serves the other copy's hubs", async () => {
    const { server, port } = await serve();
    const hub = new SignallingHub();
    const attachment = attach(hub, server, { path: '/shared' });
    cleanups.push(() => attachment.close());
    // A second copy of the modules, as when an app loads both the ESM and the CommonJS build.
    vi.resetModules();
    const core = await import('../../src/index.js');
    const ws = await import('../../src/ws.js');
    expect(ws.attach).not.toBe(attach);
    const otherHub = new core.SignallingHub();
    // Each copy's attach() takes the other copy's hubs too: it finds the adapter port by shape.
    const mixed = ws.attach(hub, server, { path: '/mixed' });
    cleanups.push(() => mixed.close());
    const crossed = attach(otherHub, server, { path: '/crossed' });
    cleanups.push(() => crossed.close());
    const first = await TestClient.connect(`ws://127.0.0.1:${port}/mixed`);
    expect(await first.login('mixed')).toMatchObject({ success: true });
    expect(hub.getPeer('mixed')).toBeDefined();
    const second = await TestClient.connect(`ws://127.0.0.1:${port}/crossed`);
    expect(await second.login('crossed')).toMatchObject({ success: true });
    expect(otherHub.getPeer('crossed')).toBeDefined();
    first.close();
    second.close();
    expect(thrownBy(() => ws.attach(otherHub, server, { path: '/shared' }))).toMatchObject({ code: 'SH_ERR_ALREADY_ATTACHED' });
    const beside = ws.attach(otherHub, server, { path: '/beside' });
    cleanups.push(() => beside.close());
    expect(server.listenerCount('upgrade')).toBe(1);
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/beside`);
    expect(await client.login('other-copy')).toMatchObject({ success: true });
    expect(otherHub.size).toBe(1);
    client.close();
  });
});
