import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { pathnameOf } from '../transports/shared/path.js';

/** The demo's files, by URL path. */
const files: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
  '/demo.js.map': { file: 'demo.js.map', type: 'application/json; charset=utf-8' },
};

/**
 * The built demo folder: next to the bundled CLI (`dist/cli.js` → `dist/demo/`),
 * or, when this module runs from source (tests), in `dist/demo/` of the package.
 */
function demoDirectory(): string | undefined {
  for (const relative of ['./demo/', '../../dist/demo/']) {
    const directory = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${directory}index.html`)) return directory;
  }
  return undefined;
}

/**
 * The HTTP handler of the standalone server: the demo page at `/` and its
 * script. The page learns the WebSocket path from a meta tag filled in here.
 */
export function demoHandler(signallingPath: string): (request: IncomingMessage, response: ServerResponse) => void {
  const directory = demoDirectory();
  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const pathname = pathnameOf(request.url);
    const entry = files[pathname];
    if (entry === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    if (directory === undefined) {
      response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`signalling-hub: the demo page is not built (run \`npm run build\`); WebSocket path: ${signallingPath}\n`);
      return;
    }
    readFile(directory + entry.file, 'utf8').then(
      (text) => {
        const body =
          entry.file === 'index.html'
            ? text.replace(
                'name="signalling-path" content="/"',
                `name="signalling-path" content="${escapeAttribute(signallingPath)}"`,
              )
            : text;
        response.writeHead(200, {
          'content-type': entry.type,
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
        });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      () => response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n'),
    );
  };
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
