/**
 * What a hostile or broken client can do to the API server, over real sockets: stalled
 * requests are closed within the configured bound, every framework-level refusal is an
 * Alibaba error envelope, oversized input is refused before any signature work, caller-chosen
 * action names never become metric labels, and a Host naming another region is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { NLB, GWLB, callApi, callError, startTestServer, type TestServer } from '../support/server.js';
import { isAlibabaError, rawExchange } from '../support/raw-http.js';
import { replay, startRecorder } from '../support/recorder.js';

// Small bounds so a stalled request is closed in about two seconds rather than thirty.
const REQUEST_TIMEOUT_MS = 1000;
const CHECK_INTERVAL_MS = 200;
const MAX_BODY = 64 * 1024;

let server: TestServer;
before(async () => {
  server = await startTestServer({
    configure: (c) => {
      c.api.requestTimeoutMs = REQUEST_TIMEOUT_MS;
      c.api.headersTimeoutMs = REQUEST_TIMEOUT_MS;
      c.api.timeoutCheckIntervalMs = CHECK_INTERVAL_MS;
      c.api.maxBodyBytes = MAX_BODY;
    },
  });
});
after(async () => {
  await server?.stop();
});

const raw = (data: string | Buffer, opts?: Parameters<typeof rawExchange>[2]) => rawExchange(server.port, data, opts);

describe('stalled requests', () => {
  // The documented bound is requestTimeoutMs + timeoutCheckIntervalMs; giveUpMs is only a
  // generous ceiling so a regression fails instead of hanging.
  const giveUpMs = 20_000;

  test('a body that stops arriving is answered 408 and its connection closed', async () => {
    const r = await raw('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n0123456789', { giveUpMs });
    assert.ok(r.closedByServer, 'the server closed the stalled connection');
    assert.equal(r.status, 408);
    assert.ok(isAlibabaError(r.body));
    assert.equal(r.body.Code, 'RequestTimeout');
  });

  test('a chunked body that never ends is closed too', async () => {
    const r = await raw('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', { giveUpMs });
    assert.ok(r.closedByServer);
    assert.equal(r.body?.Code, 'RequestTimeout');
  });

  test('headers that never end, and a connection that sends nothing, are closed', async () => {
    const [partial, silent] = await Promise.all([raw('GET / HTTP/1.1\r\nHost: x\r\n', { giveUpMs }), raw('', { giveUpMs })]);
    assert.ok(partial.closedByServer && silent.closedByServer);
  });

  test('while stalled connections are held, signed calls are answered', async () => {
    const stalled = Array.from({ length: 50 }, () => raw('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab', { giveUpMs }));
    const body = await callApi(server, NLB, 'DescribeRegions', {});
    assert.equal(body.Regions[0].RegionId, 'cn-hangzhou');
    const results = await Promise.all(stalled);
    assert.ok(results.every((r) => r.closedByServer));
  });
});

describe('framework-level errors are Alibaba error envelopes', () => {
  const cases: Array<[string, string, number, string]> = [
    ['headers over the limit', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'RequestHeaderFieldsTooLarge'],
    ['an unreadable Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'MalformedRequest'],
    [
      'two different Content-Lengths',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      400,
      'MalformedRequest',
    ],
    ['an unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'UnsupportedHTTPMethod'],
    ['TRACE', 'TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 405, 'UnsupportedHTTPMethod'],
    ['PUT', 'PUT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 405, 'UnsupportedHTTPMethod'],
    ['PROPFIND', 'PROPFIND / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 405, 'UnsupportedHTTPMethod'],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405, 'UnsupportedHTTPMethod'],
    ['another path', 'GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404, 'InvalidAction.NotFound'],
    ['TLS bytes on the plain port', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03', 400, 'MalformedRequest'],
    ['a body over the limit', `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`, 413, 'RequestEntityTooLarge'],
  ];
  for (const [what, request, status, code] of cases) {
    test(what, async () => {
      const r = await raw(request, { giveUpMs: 20_000 });
      assert.equal(r.status, status, r.text.slice(0, 300));
      assert.ok(isAlibabaError(r.body), r.text.slice(0, 300));
      assert.equal(r.body.Code, code);
    });
  }

  test('Expect: 100-continue with a body over the limit is refused without inviting it', async () => {
    const r = await raw(`POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\n\r\n`);
    assert.doesNotMatch(r.text, /100 Continue/);
    assert.equal(r.status, 413);
    assert.equal(r.body.Code, 'RequestEntityTooLarge');
  });

  test('Expect: 100-continue with a small body is invited and answered', async () => {
    const r = await raw('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n', {
      then: (socket) => setTimeout(() => socket.write('a=1'), 50),
    });
    assert.match(r.text, /^HTTP\/1\.1 100 Continue/);
    assert.equal(r.body.Code, 'MissingParameter');
  });

  for (const mode of ['Content-Length', 'chunked'] as const) {
    test(`a client still uploading a too-big body (${mode}) reads the 413, not a reset`, async () => {
      const headers: Record<string, string> =
        mode === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(MAX_BODY * 8) };
      const reply = await new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = http.request({ host: server.host, port: server.port, method: 'POST', path: '/', headers }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          res.on('error', reject);
        });
        req.on('error', reject);
        // Keep uploading, 4 KB at a time, up to 8x the limit (bounded).
        let sent = 0;
        const chunk = Buffer.alloc(4096, 0x61);
        const pump = () => {
          while (sent < MAX_BODY * 8 && !req.destroyed) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      assert.equal(reply.status, 413);
      assert.ok(isAlibabaError(reply.body));
      assert.equal(reply.body.Code, 'RequestEntityTooLarge');
    });
  }
});

describe('big or many parameters are refused before any signature work', () => {
  // Unsigned on purpose: the answer names the size problem, not the missing signature, which
  // shows the refusal comes first.
  test('a parameter name longer than the limit', async () => {
    const name = 'A.'.repeat(20_000);
    const r = await raw(
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${name.length + 2}\r\nConnection: close\r\n\r\n${name}=1`,
    );
    assert.equal(r.status, 400);
    assert.equal(r.body.Code, 'InvalidParameter.NameTooLong');
  });

  test('more parameters than the limit, counting query and body together', async () => {
    const query = Array.from({ length: 1500 }, (_, i) => `q${i}=1`).join('&');
    const body = Array.from({ length: 1500 }, (_, i) => `b${i}=1`).join('&');
    const r = await raw(
      `POST /?${query} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.equal(r.body.Code, 'InvalidParameter.TooMany');
  });

  test('a signed call with many (but allowed) parameters still works', async () => {
    const params: Record<string, string> = {};
    for (let i = 0; i < 500; i++) params[`Unused${i}`] = 'x';
    const body = await callApi(server, NLB, 'DescribeRegions', params);
    assert.equal(body.Regions[0].RegionId, 'cn-hangzhou');
  });
});

describe('metric labels', () => {
  async function apiSeries(): Promise<string[]> {
    const text = await (await fetch(`${server.running.adminUrl}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith('openslb_api_requests_total{'));
  }

  test('bogus action names and versions from a valid key add no series', async () => {
    // One of each first, so the `unknown` series exist.
    await callError(callApi(server, NLB, 'NoSuchAction0', {}));
    await callError(callApi(server, '1999-01-01', 'NoSuchAction0', {}));
    await callError(callApi(server, GWLB, 'NoSuchAction0', {}));
    const before = await apiSeries();
    for (let i = 1; i <= 40; i++) {
      await callError(callApi(server, NLB, `NoSuchAction${i}`, {}));
      await callError(callApi(server, i % 2 ? GWLB : '1999-01-01', `Bogus${i}`, {}));
    }
    const after = await apiSeries();
    assert.deepEqual(
      after.map((l) => l.replace(/ .*$/, '')),
      before.map((l) => l.replace(/ .*$/, '')),
    );
    assert.ok(after.some((l) => l.includes('action="unknown"') && l.includes('code="InvalidAction.NotFound"')));
    assert.ok(after.some((l) => l.includes('product="none"') && l.includes('action="unknown"')));
    assert.ok(!after.some((l) => /NoSuchAction|Bogus/.test(l)));
  });

  test('declared actions keep their own label', async () => {
    await callApi(server, NLB, 'DescribeZones', {});
    assert.ok((await apiSeries()).some((l) => l.includes('action="DescribeZones"') && l.includes('code="Success"')));
  });
});

describe('the region named by the Host header', () => {
  // RPC signatures do not cover Host, so one recorded request can be sent with any Host.
  async function recordedDescribeZones(count: number, params: Record<string, string> = {}) {
    const recorder = await startRecorder();
    try {
      for (let i = 0; i < count; i++) {
        await callApi({ host: '127.0.0.1', port: recorder.port }, NLB, 'DescribeZones', params, { signatureAlgorithm: 'v2' });
      }
      return [...recorder.recorded];
    } finally {
      await recorder.close();
    }
  }
  const withHost = (req: { headers: Array<[string, string]> }, host: string) =>
    req.headers.map(([n, v]) => (n.toLowerCase() === 'host' ? ([n, host] as [string, string]) : ([n, v] as [string, string])));

  test('an unknown region in the host is refused, not answered for the first region', async () => {
    const [req] = await recordedDescribeZones(1);
    const r = await replay(server, req, { headers: withHost(req, 'nlb.mars-north-1.aliyuncs.com') });
    assert.equal(r.status, 403);
    assert.equal(r.body.Code, 'UnauthorizedRegion');
  });

  test('a RegionId other than the host region is refused; the same one is served', async () => {
    const [mismatch, match] = await recordedDescribeZones(2, { RegionId: 'cn-hangzhou' });
    const refused = await replay(server, mismatch, { headers: withHost(mismatch, 'nlb.cn-beijing.aliyuncs.com') });
    // cn-beijing is not configured: refused as an unknown region.
    assert.equal(refused.body.Code, 'UnauthorizedRegion');
    const served = await replay(server, match, { headers: withHost(match, 'nlb.cn-hangzhou.aliyuncs.com') });
    assert.equal(served.status, 200);
    assert.equal(served.body.Zones.length, 2);
  });
});

describe('connection count', () => {
  test('past maxConnections new connections are closed at once; calls work again when they go', async (t) => {
    const small = await startTestServer({ configure: (c) => (c.api.maxConnections = 3) });
    t.after(() => small.stop());
    const net = await import('node:net');
    const held = await Promise.all(
      Array.from(
        { length: 3 },
        () =>
          new Promise<import('node:net').Socket>((resolve) => {
            const s = net.connect(small.port, '127.0.0.1', () => resolve(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    // The kernel queues connections in arrival order and the server accepts them in that order,
    // so the fourth is counted after the three held ones.
    const refused = await rawExchange(small.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { giveUpMs: 20_000 });
    assert.ok(refused.closedByServer);
    assert.equal(refused.status, undefined, 'no reply: the connection was closed on arrival');
    for (const s of held) s.destroy();
    // Once they are gone a signed call is served (the server may see the closes a moment later).
    let body: Record<string, any> | undefined;
    for (let i = 0; i < 100 && !body; i++) {
      body = await callApi(small, NLB, 'DescribeRegions', {}).catch(async () => {
        await new Promise((r) => setTimeout(r, 20));
        return undefined;
      });
    }
    assert.equal(body?.Regions[0].RegionId, 'cn-hangzhou');
  });
});
