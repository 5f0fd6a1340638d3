/**
 * A loopback HTTP endpoint that records what an official client sends and answers a minimal
 * success, so a test can replay or tamper with a genuinely signed request against OpenSLB.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

export async function startRecorder() {
  const recorded: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      recorded.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body: Buffer.concat(chunks) });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ RequestId: 'RECORDED', Regions: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    recorded,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Sends a recorded request to OpenSLB byte for byte. The Host header is kept as recorded:
 * ACS3 signs it, so the server must see the host the client signed.
 */
export function replay(
  target: { host: string; port: number },
  req: RecordedRequest,
  change: { url?: string; body?: Buffer; method?: string; headers?: Array<[string, string]> } = {},
): Promise<{ status: number; body: any }> {
  const body = change.body ?? req.body;
  const headers = (change.headers ?? req.headers).filter(([name]) => !/^(content-length|transfer-encoding|connection)$/i.test(name)).flat();
  headers.push('content-length', String(body.length));
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: target.host, port: target.port, method: change.method ?? req.method, path: change.url ?? req.url, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        });
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}
