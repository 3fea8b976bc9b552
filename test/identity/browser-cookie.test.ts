import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'tsup';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DuplicateNamePolicy, SignallingHub } from '../../src/index.js';
import { attach, type Attachment } from '../../src/ws.js';
import { launchChromium } from '../helpers/chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** What the app's session knows of a user, as `verifyUpgrade` hands it to `authenticate`. */
interface SessionUser {
  readonly user: string;
}

/**
 * The app's page: the client logs in without a name (the host's session
 * decides it) and reports how that went and how its connection ended.
 */
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>app</title>
<script type="module">
import { SignallingClient } from './client.js';
window.closes = [];
window.start = async () => {
  const client = new SignallingClient('/signalling');
  client.on('close', ({ code, reconnecting }) => window.closes.push({ code, reconnecting }));
  window.client = client;
  try {
    const { name } = await client.login();
    return { name, cookieSeenByScript: document.cookie };
  } catch (error) {
    return { reason: error.reason, message: error.message, status: error.status };
  }
};
window.ready = true;
</script></head><body></body></html>`;

/**
 * An app with cookie sessions, as an Express app with `express-session`
 * would have them (plain `node:http` here): `GET /login?user=U` starts a
 * session (an HttpOnly cookie, then a redirect to the page); the hub on the
 * same server reads the cookie in `verifyUpgrade` and names the peer after
 * the session's user in `authenticate`.
 */
async function startApp(bundle: string, duplicateNames: DuplicateNamePolicy) {
  const sessions = new Map<string, SessionUser>();
  const hub = new SignallingHub<SessionUser, SessionUser>({
    duplicateNames,
    authenticate: ({ upgrade }) => (upgrade === undefined ? false : { name: upgrade.user, data: upgrade }),
  });
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://app');
    if (url.pathname === '/login') {
      const sid = randomUUID();
      sessions.set(sid, { user: url.searchParams.get('user') ?? 'anonymous' });
      response.writeHead(302, { 'set-cookie': `sid=${sid}; HttpOnly; SameSite=Lax; Path=/`, location: '/page' }).end();
    } else if (url.pathname === '/page') response.writeHead(200, { 'content-type': 'text/html' }).end(page);
    else if (url.pathname === '/client.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const upgrades: Array<string | undefined> = [];
  const attachment: Attachment = attach(hub, server, {
    path: '/signalling',
    // Cookies ride along on a cross-site WebSocket too: only the app's own pages may open one.
    origins: [origin],
    verifyUpgrade: (request: IncomingMessage): SessionUser | false => {
      const sid = /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
      const session = sid === undefined ? undefined : sessions.get(sid);
      upgrades.push(session?.user);
      return session ?? false;
    },
  });
  return {
    hub,
    origin,
    upgrades,
    async close() {
      await attachment.close();
      await hub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

type App = Awaited<ReturnType<typeof startApp>>;
type Outcome = { name?: string; cookieSeenByScript?: string; reason?: string; message?: string; status?: number };

describe('a Chromium page logs in with its cookie session, named by the host (headless Chromium)', () => {
  let bundle: string;
  let browser: Browser;
  let app: App | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // The client from its sources, bundled for the browser as an app would.
    const dir = mkdtempSync(join(tmpdir(), 'signalling-hub-cookie-page-'));
    try {
      await build({
        entry: { client: join(root, 'src/client.ts') },
        outDir: dir,
        format: ['esm'],
        platform: 'browser',
        target: 'es2020',
        noExternal: ['eventemitter3'],
        silent: true,
        config: false,
        tsconfig: join(root, 'tsconfig.json'),
      });
      bundle = readFileSync(join(dir, 'client.js'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    browser = await launchChromium();
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    await app?.close();
    app = undefined;
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** A browser profile (one cookie jar) signed in as `user`, or signed out without one. */
  async function profile(user?: string): Promise<BrowserContext> {
    const context = await browser.newContext();
    contexts.push(context);
    if (user !== undefined) {
      const tab = await context.newPage();
      // The app's login: the response sets the cookie and redirects to the page.
      await tab.goto(`${app!.origin}/login?user=${user}`);
      expect(new URL(tab.url()).pathname).toBe('/page');
      await tab.close();
    }
    return context;
  }

  /** A tab of `context` on the app's page, logged in (or refused) through its client. */
  async function tab(context: BrowserContext): Promise<{ tab: Page; outcome: Outcome }> {
    const opened = await context.newPage();
    await opened.goto(`${app!.origin}/page`);
    await opened.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const outcome = await opened.evaluate(() => (window as unknown as { start(): Promise<Outcome> }).start());
    return { tab: opened, outcome };
  }

  it("logs in without a name and gets the session user's name; the host has the session's data", async () => {
    app = await startApp(bundle, 'refuse');
    const alice = await profile('alice');
    const { outcome } = await tab(alice);
    // The cookie is HttpOnly: the browser sent it with the upgrade, the page's script never saw it.
    expect(outcome).toEqual({ name: 'alice', cookieSeenByScript: '' });
    expect(app.hub.getPeer('alice')?.data).toEqual({ user: 'alice' });
    expect(app.upgrades).toEqual(['alice']);
    // Another user's browser gets its own name; a browser without a session is refused at the handshake.
    expect((await tab(await profile('bob'))).outcome).toEqual({ name: 'bob', cookieSeenByScript: '' });
    expect((await tab(await profile())).outcome).toMatchObject({ reason: 'unauthorized', status: 401 });
  });

  it("refuses a second tab of the same user with name-taken (duplicateNames: 'refuse')", async () => {
    app = await startApp(bundle, 'refuse');
    const alice = await profile('alice');
    expect((await tab(alice)).outcome).toMatchObject({ name: 'alice' });
    expect((await tab(alice)).outcome).toMatchObject({ reason: 'name-taken' });
    expect(app.upgrades).toEqual(['alice', 'alice']);
  });

  it("names a second tab alice#2 (duplicateNames: 'suffix')", async () => {
    app = await startApp(bundle, 'suffix');
    const alice = await profile('alice');
    expect((await tab(alice)).outcome).toMatchObject({ name: 'alice' });
    expect((await tab(alice)).outcome).toMatchObject({ name: 'alice#2' });
    expect(app.hub.getPeer('alice#2')?.data).toEqual({ user: 'alice' });
  });

  it("moves the user to the second tab and closes the first with 4409 (duplicateNames: 'replace')", async () => {
    app = await startApp(bundle, 'replace');
    const alice = await profile('alice');
    const first = await tab(alice);
    expect(first.outcome).toMatchObject({ name: 'alice' });
    const left = new Promise((resolve) => app!.hub.once('peer-left', resolve));
    expect((await tab(alice)).outcome).toMatchObject({ name: 'alice' });
    expect(await left).toMatchObject({ name: 'alice', reason: 'replaced' });
    // The first tab's client hears 4409 and does not fight back for the name.
    await first.tab.waitForFunction(() => (window as unknown as { closes: unknown[] }).closes.length > 0);
    expect(await first.tab.evaluate(() => (window as unknown as { closes: unknown[] }).closes)).toEqual([
      { code: 4409, reconnecting: false },
    ]);
  });
});
