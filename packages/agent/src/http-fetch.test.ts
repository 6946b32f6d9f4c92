import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonFetch } from './http-fetch.js';

describe('createJsonFetch (a real HTTP server on loopback)', () => {
  let server: Server;
  let url: string;
  const ports: number[] = [];
  const jsonFetch = createJsonFetch();

  beforeAll(async () => {
    server = createServer((req, res) => {
      ports.push(req.socket.remotePort as number);
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (req.url === '/hang') return; // never answers
        const status = req.url === '/missing' ? 404 : 200;
        res.writeHead(status, { 'content-type': 'application/json', 'x-seen': req.headers['x-custom'] ?? '' });
        res.end(JSON.stringify({ method: req.method, body, length: req.headers['content-length'] ?? null }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    jsonFetch.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the method, headers and a string body with its byte length; reads status, headers and JSON', async () => {
    const res = await jsonFetch(`${url}/x`, { method: 'POST', headers: { 'X-Custom': 'yes' }, body: '{"name":"é"}' });
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-seen')).toBe('yes');
    expect(await res.json()).toEqual({ method: 'POST', body: '{"name":"é"}', length: '13' });
    const missing = await jsonFetch(`${url}/missing`, { headers: { 'x-custom': 'h' } });
    expect(missing.ok).toBe(false);
    expect(missing.status).toBe(404);
    expect(JSON.parse(await missing.text())).toMatchObject({ method: 'GET', length: null });
  });

  it('reuses one connection for calls one after another', async () => {
    ports.length = 0;
    for (let i = 0; i < 5; i++) await (await jsonFetch(`${url}/x`, { method: 'POST', body: '{}' })).json();
    expect(new Set(ports).size).toBe(1);
  });

  it('an abort rejects with an AbortError, before and during the call', async () => {
    const before = new AbortController();
    before.abort();
    await expect(jsonFetch(`${url}/x`, { signal: before.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const during = new AbortController();
    const call = jsonFetch(`${url}/hang`, { method: 'POST', body: '{}', signal: during.signal });
    setTimeout(() => during.abort(), 50);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a refused connection rejects, and an unknown protocol is a TypeError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(jsonFetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(jsonFetch('ftp://127.0.0.1/')).rejects.toBeInstanceOf(TypeError);
  });
});
