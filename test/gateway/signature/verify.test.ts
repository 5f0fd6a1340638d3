// Scheme detection, structural checks and ordering of verifyRequest, on mutated captures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentEncode } from '../../../src/gateway/percent-encode.js';
import { mergeParams, parseForm } from '../../../src/gateway/form.js';
import { MemoryNonceRegistry } from '../../../src/gateway/signature/nonce-registry.js';
import { rpcSignature, rpcStringToSign } from '../../../src/gateway/signature/rpc.js';
import type { RawRequest } from '../../../src/gateway/signature/types.js';
import { parseTimestamp, verifyRequest } from '../../../src/gateway/signature/verify.js';
import { SECRET, captures, optionsFor, rejectsWithCode, toRawRequest, type CaptureRecord } from './fixtures.js';

const bySeq = (seq: number): CaptureRecord => captures.find((r) => r.seq === seq)!;
const V3_QUERY = bySeq(18); // core:v3-default-query
const V3_BODY = bySeq(19); // core:v3-default-body
const RPC_BODY = bySeq(37); // pop:v2-POST, everything in the body
const RPC_GET = bySeq(38); // pop:v2-GET, everything in the query

function withHeaders(record: CaptureRecord, change: (h: RawRequest['headers']) => void): RawRequest {
  const req = toRawRequest(record);
  const headers = { ...req.headers };
  change(headers);
  return { ...req, headers };
}

function withAuthorization(record: CaptureRecord, edit: (auth: string) => string): RawRequest {
  return withHeaders(record, (h) => {
    h.authorization = edit(h.authorization as string);
  });
}

/** pop-core GET capture with its parameters edited, then signed again with the test secret. */
function resignedRpcGet(edit: (params: Record<string, string>) => void): RawRequest {
  const params = mergeParams(parseForm(RPC_GET.rawQuery), []); // null prototype: __proto__ is a plain name
  delete params.Signature;
  edit(params);
  params.Signature = rpcSignature(SECRET, rpcStringToSign('GET', params));
  const rawQuery = Object.entries(params)
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
    .join('&');
  return { ...toRawRequest(RPC_GET), rawQuery };
}

describe('scheme detection', () => {
  it('asks for a Signature when the request is not signed at all', async () => {
    const req: RawRequest = { method: 'POST', path: '/', rawQuery: 'Action=CreateListener', headers: { host: 'x' }, body: Buffer.alloc(0) };
    await assert.rejects(verifyRequest(req, optionsFor(V3_QUERY)), (err: { code: string; message: string }) => {
      assert.equal(err.code, 'MissingParameter');
      assert.match(err.message, /"Signature"/);
      return true;
    });
  });

  it('refuses ACS3-RSA-SHA256', async () => {
    const req = withAuthorization(V3_QUERY, (a) => a.replace('ACS3-HMAC-SHA256', 'ACS3-RSA-SHA256'));
    await rejectsWithCode(verifyRequest(req, optionsFor(V3_QUERY)), 'InvalidSignatureMethod');
  });

  it('refuses a foreign Authorization scheme', async () => {
    const req = withAuthorization(V3_QUERY, (a) => a.replace('ACS3-HMAC-SHA256', 'ACS4-HMAC-SHA256'));
    await rejectsWithCode(verifyRequest(req, optionsFor(V3_QUERY)), 'InvalidSignatureMethod');
  });

  it('refuses bearer tokens (header or SignatureType parameter)', async () => {
    const base: RawRequest = { method: 'POST', path: '/', rawQuery: '', headers: {}, body: Buffer.alloc(0) };
    await rejectsWithCode(
      verifyRequest({ ...base, headers: { 'x-acs-bearer-token': 't' } }, optionsFor(V3_QUERY)),
      'InvalidSignatureMethod',
    );
    await rejectsWithCode(
      verifyRequest({ ...base, rawQuery: 'SignatureType=BEARERTOKEN&BearerToken=t' }, optionsFor(V3_QUERY)),
      'InvalidSignatureMethod',
    );
  });

  it('refuses an RPC SignatureMethod other than HMAC-SHA1, and SignatureVersion other than 1.0', async () => {
    const sha256 = toRawRequest(RPC_GET);
    await rejectsWithCode(
      verifyRequest(
        { ...sha256, rawQuery: sha256.rawQuery.replace('SignatureMethod=HMAC-SHA1', 'SignatureMethod=HMAC-SHA256') },
        optionsFor(RPC_GET),
      ),
      'InvalidSignatureMethod',
    );
    await rejectsWithCode(
      verifyRequest({ ...sha256, rawQuery: sha256.rawQuery.replace('SignatureVersion=1.0', 'SignatureVersion=2.0') }, optionsFor(RPC_GET)),
      'InvalidSignatureMethod',
    );
  });

  it('detects RPC from SignatureMethod alone and reports the missing Signature', async () => {
    const req = toRawRequest(RPC_GET);
    const rawQuery = req.rawQuery.replace(/&Signature=[^&]*/, '');
    await assert.rejects(verifyRequest({ ...req, rawQuery }, optionsFor(RPC_GET)), /"Signature"/);
  });
});

describe('RPC protocol parameters', () => {
  for (const name of ['AccessKeyId', 'SignatureNonce', 'Timestamp', 'Action', 'Version']) {
    it(`reports a missing ${name} as MissingParameter`, async () => {
      const req = toRawRequest(RPC_BODY);
      const body = req.body
        .toString()
        .split('&')
        .filter((s) => !s.startsWith(`${name}=`))
        .join('&');
      await assert.rejects(
        verifyRequest({ ...req, body: Buffer.from(body) }, optionsFor(RPC_BODY)),
        (err: { code: string; message: string }) => {
          assert.equal(err.code, 'MissingParameter');
          assert.equal(err.message, `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
          return true;
        },
      );
    });
  }

  it('accepts a request re-signed after an edit (sanity check of the helper)', async () => {
    const verified = await verifyRequest(
      resignedRpcGet(() => {}),
      optionsFor(RPC_GET),
    );
    assert.equal(verified.scheme, 'RPC-HMAC-SHA1');
    assert.equal(verified.nonce, Object.fromEntries(parseForm(RPC_GET.rawQuery)).SignatureNonce);
  });

  it('reports an unparseable Timestamp as InvalidTimeStamp.Format', async () => {
    for (const ts of ['2026-11-22 02:58:44', '2026-11-22T02:58:44.000Z', '1700000000', '2026-02-30T00:00:00Z']) {
      const req = resignedRpcGet((p) => {
        p.Timestamp = ts;
      });
      await rejectsWithCode(verifyRequest(req, optionsFor(RPC_GET)), 'InvalidTimeStamp.Format');
    }
  });

  it('keeps names such as __proto__ as plain parameters', async () => {
    const req = resignedRpcGet((p) => {
      p.__proto__ = 'x';
    });
    const verified = await verifyRequest(req, optionsFor(RPC_GET));
    assert.equal(Object.getOwnPropertyDescriptor(verified.params, '__proto__')?.value, 'x');
  });

  it('ignores a body that is not a form', async () => {
    const req = toRawRequest(RPC_GET);
    const headers = { ...req.headers, 'content-type': 'text/plain' };
    const verified = await verifyRequest({ ...req, headers, body: Buffer.from('RegionId=cn-evil') }, optionsFor(RPC_GET));
    assert.equal(verified.params.RegionId, 'cn-hangzhou');
  });

  it('the body wins over the query for a name sent in both', async () => {
    const req = toRawRequest(RPC_BODY);
    const verified = await verifyRequest({ ...req, rawQuery: 'RegionId=cn-evil' }, optionsFor(RPC_BODY));
    assert.equal(verified.params.RegionId, 'cn-hangzhou');
  });
});

describe('ACS3 structure', () => {
  it('refuses an Authorization without a Signature field', async () => {
    const req = withAuthorization(V3_QUERY, (a) => a.replace(/,Signature=.*/, ''));
    await rejectsWithCode(verifyRequest(req, optionsFor(V3_QUERY)), 'IncompleteSignature');
  });

  for (const name of ['host', 'x-acs-action', 'x-acs-version', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
    it(`refuses when ${name} is not signed`, async () => {
      const req = withAuthorization(V3_QUERY, (a) =>
        a.replace(
          /SignedHeaders=([^,]*)/,
          (_, list: string) =>
            `SignedHeaders=${list
              .split(';')
              .filter((n) => n !== name)
              .join(';')}`,
        ),
      );
      await assert.rejects(verifyRequest(req, optionsFor(V3_QUERY)), (err: { code: string; message: string }) => {
        assert.equal(err.code, 'IncompleteSignature');
        assert.ok(err.message.includes(name));
        return true;
      });
    });
  }

  it('refuses when a signed header is missing', async () => {
    const req = withHeaders(V3_QUERY, (h) => {
      delete h['x-acs-credentials-provider'];
    });
    await rejectsWithCode(verifyRequest(req, optionsFor(V3_QUERY)), 'IncompleteSignature');
  });

  it('refuses an unsigned content-type (it decides whether the body holds parameters)', async () => {
    const req = withHeaders(V3_QUERY, (h) => {
      h['content-type'] = 'application/x-www-form-urlencoded';
    });
    await rejectsWithCode(verifyRequest(req, optionsFor(V3_QUERY)), 'IncompleteSignature');
  });

  it('refuses a repeated x-acs-action', async () => {
    const req = withHeaders(V3_QUERY, (h) => {
      h['x-acs-action'] = ['CreateListener', 'DeleteListener'];
    });
    await rejectsWithCode(verifyRequest(req, optionsFor(V3_QUERY)), 'IncompleteSignature');
  });

  it('shows the server string to sign on a wrong signature, never the secret', async () => {
    const req = withAuthorization(V3_QUERY, (a) => a.replace(/Signature=[0-9a-f]{4}/, 'Signature=0000'));
    await assert.rejects(verifyRequest(req, optionsFor(V3_QUERY)), (err: { code: string; message: string }) => {
      assert.equal(err.code, 'IncompleteSignature');
      assert.match(err.message, /server string to sign is:ACS3-HMAC-SHA256\n[0-9a-f]{64}$/);
      assert.ok(!err.message.includes(SECRET));
      return true;
    });
  });

  it('refuses a body that does not match x-acs-content-sha256', async () => {
    const req = toRawRequest(V3_BODY);
    await rejectsWithCode(verifyRequest({ ...req, body: Buffer.from('RegionId=cn-evil') }, optionsFor(V3_BODY)), 'InvalidContentSha256');
  });

  it('takes parameters from a signed form body', async () => {
    const verified = await verifyRequest(toRawRequest(V3_BODY), optionsFor(V3_BODY));
    assert.equal(verified.params.RegionId, 'cn-hangzhou');
  });
});

describe('ordering and clock', () => {
  it('does not burn the nonce when the signature is wrong', async () => {
    const nonces = new MemoryNonceRegistry();
    await rejectsWithCode(
      verifyRequest(toRawRequest(V3_QUERY), optionsFor(V3_QUERY, { nonces, lookupSecret: () => 'wrong' })),
      'IncompleteSignature',
    );
    await verifyRequest(toRawRequest(V3_QUERY), optionsFor(V3_QUERY, { nonces }));
  });

  it('accepts exactly 15 minutes of skew and refuses one second more', async () => {
    const ts = Date.parse(V3_QUERY.headers['x-acs-date']);
    for (const sign of [1, -1]) {
      await verifyRequest(toRawRequest(V3_QUERY), optionsFor(V3_QUERY, { now: ts + sign * 15 * 60_000 }));
      await rejectsWithCode(
        verifyRequest(toRawRequest(V3_QUERY), optionsFor(V3_QUERY, { now: ts + sign * (15 * 60_000 + 1000) })),
        'InvalidTimeStamp.Expired',
      );
    }
  });

  it('honours a custom skew', async () => {
    const ts = Date.parse(V3_QUERY.headers['x-acs-date']);
    await rejectsWithCode(
      verifyRequest(toRawRequest(V3_QUERY), optionsFor(V3_QUERY, { now: ts + 6 * 60_000, skewMs: 5 * 60_000 })),
      'InvalidTimeStamp.Expired',
    );
  });

  it('accepts an async secret lookup', async () => {
    await verifyRequest(toRawRequest(RPC_BODY), optionsFor(RPC_BODY, { lookupSecret: async () => SECRET }));
  });

  it('refuses a malformed query or a non-UTF-8 form body with IllegalParam', async () => {
    const req = toRawRequest(RPC_BODY);
    await rejectsWithCode(verifyRequest({ ...req, rawQuery: 'a=%zz' }, optionsFor(RPC_BODY)), 'IllegalParam');
    await rejectsWithCode(verifyRequest({ ...req, body: Buffer.from([0x61, 0x3d, 0xff]) }, optionsFor(RPC_BODY)), 'IllegalParam');
  });
});

describe('parseTimestamp', () => {
  it('parses YYYY-MM-DDTHH:mm:ssZ as UTC', () => {
    assert.equal(parseTimestamp('2026-11-22T02:58:44Z'), Date.UTC(2026, 10, 22, 2, 58, 44));
  });
  for (const bad of ['', '2026-11-22T02:58:44', '2026-11-22T02:58:44+08:00', '0099-01-01T00:00:00Z', '2026-13-01T00:00:00Z']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parseTimestamp(bad),
        (err: { code: string }) => err.code === 'InvalidTimeStamp.Format',
      );
    });
  }
});
