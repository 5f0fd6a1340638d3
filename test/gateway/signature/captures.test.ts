// Every captured SDK request must verify, and every tampered copy must fail with its own code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryNonceRegistry } from '../../../src/gateway/signature/nonce-registry.js';
import type { RawRequest } from '../../../src/gateway/signature/types.js';
import { verifyRequest } from '../../../src/gateway/signature/verify.js';
import { ACCESS_KEY_ID, captures, isV3, optionsFor, rejectsWithCode, toRawRequest } from './fixtures.js';

const DESCRIPTION = "desc with spaces & symbols /+=*!'()~ and ünïcode";
const HOUR = 3_600_000;

/** Protocol parameters whose change would fail a check other than the signature itself. */
const NOT_TAMPERED = new Set(['Signature', 'SignatureMethod', 'SignatureVersion', 'AccessKeyId']);

/** Appends `x` to the value of the first pair that may be changed; undefined if none. */
function tamperValue(form: string): string | undefined {
  const segments = form === '' ? [] : form.split('&');
  const i = segments.findIndex((s) => !NOT_TAMPERED.has(s.split('=')[0]));
  if (i === -1) return undefined;
  segments[i] += 'x';
  return segments.join('&');
}

function hasFormBody(req: RawRequest): boolean {
  return req.body.length > 0;
}

it('loads all 46 captures', () => {
  assert.equal(captures.length, 46);
});

for (const record of captures) {
  const v3 = isV3(record);
  const signatureCode = v3 ? 'IncompleteSignature' : 'SignatureDoesNotMatch';

  describe(`capture #${record.seq} ${record.label}`, () => {
    it('verifies', async () => {
      const verified = await verifyRequest(toRawRequest(record), optionsFor(record));
      assert.equal(verified.scheme, record.verification.scheme);
      assert.equal(verified.accessKeyId, ACCESS_KEY_ID);
      assert.equal(verified.action, record.headers['x-acs-action']);
      assert.equal(verified.version, record.headers['x-acs-version']);
      assert.equal(verified.timestampMs, Math.floor(Date.parse(record.receivedAt) / 1000) * 1000);
      const expected = { ...(record.query ?? {}), ...(record.bodyParams ?? {}) };
      assert.deepEqual({ ...verified.params }, expected);
      if (verified.action === 'CreateListener') assert.equal(verified.params.ListenerDescription, DESCRIPTION);
      if (record.label.includes('sts')) assert.equal(verified.securityToken, 'sts-token-xyz');
      else assert.equal(verified.securityToken, undefined);
    });

    it('rejects a wrong secret', async () => {
      await rejectsWithCode(verifyRequest(toRawRequest(record), optionsFor(record, { lookupSecret: () => 'wrong' })), signatureCode);
    });

    it('rejects an unknown AccessKeyId', async () => {
      await rejectsWithCode(
        verifyRequest(toRawRequest(record), optionsFor(record, { lookupSecret: () => undefined })),
        'InvalidAccessKeyId.NotFound',
        404,
      );
    });

    // Tampering with a value needs a value there: only the parts this record has are tried.
    const plain = toRawRequest(record);
    if (tamperValue(plain.rawQuery) !== undefined) {
      it('rejects a changed query value', async () => {
        const req = toRawRequest(record);
        await rejectsWithCode(verifyRequest({ ...req, rawQuery: tamperValue(req.rawQuery)! }, optionsFor(record)), signatureCode);
      });
    }

    if (tamperValue(plain.body.toString('utf8')) !== undefined) {
      it('rejects a changed body value', async () => {
        const req = toRawRequest(record);
        const code = v3 ? 'InvalidContentSha256' : 'SignatureDoesNotMatch';
        await rejectsWithCode(
          verifyRequest({ ...req, body: Buffer.from(tamperValue(req.body.toString('utf8'))!) }, optionsFor(record)),
          code,
        );
      });
    }

    it('rejects an added query parameter', async () => {
      const req = toRawRequest(record);
      const rawQuery = req.rawQuery === '' ? 'Extra=1' : `${req.rawQuery}&Extra=1`;
      await rejectsWithCode(verifyRequest({ ...req, rawQuery }, optionsFor(record)), signatureCode);
    });

    if (hasFormBody(plain)) {
      it('rejects an added body parameter', async () => {
        const req = toRawRequest(record);
        const body = Buffer.concat([req.body, Buffer.from('&Extra=1')]);
        const code = v3 ? 'InvalidContentSha256' : 'SignatureDoesNotMatch';
        await rejectsWithCode(verifyRequest({ ...req, body }, optionsFor(record)), code);
      });
    }

    it('rejects a changed method', async () => {
      const req = toRawRequest(record);
      const method = req.method === 'GET' ? 'POST' : 'GET';
      await rejectsWithCode(verifyRequest({ ...req, method }, optionsFor(record)), signatureCode);
    });

    it('rejects a replay', async () => {
      const opts = optionsFor(record);
      await verifyRequest(toRawRequest(record), opts);
      await rejectsWithCode(verifyRequest(toRawRequest(record), opts), 'SignatureNonceUsed');
    });

    it('rejects a clock one hour ahead or behind', async () => {
      for (const offset of [HOUR, -HOUR]) {
        const now = Date.parse(record.receivedAt) + offset;
        await rejectsWithCode(verifyRequest(toRawRequest(record), optionsFor(record, { now })), 'InvalidTimeStamp.Expired');
      }
    });

    if (v3) {
      it('rejects a changed x-acs-action', async () => {
        const req = toRawRequest(record);
        const headers = { ...req.headers, 'x-acs-action': 'DeleteLoadBalancer' };
        await rejectsWithCode(verifyRequest({ ...req, headers }, optionsFor(record)), 'IncompleteSignature');
      });

      it('rejects a changed host', async () => {
        const req = toRawRequest(record);
        const headers = { ...req.headers, host: 'evil.example.com' };
        await rejectsWithCode(verifyRequest({ ...req, headers }, optionsFor(record)), 'IncompleteSignature');
      });

      it('rejects an unsigned x-acs-extra header', async () => {
        const req = toRawRequest(record);
        const headers = { ...req.headers, 'x-acs-extra': '1' };
        await rejectsWithCode(verifyRequest({ ...req, headers }, optionsFor(record)), 'IncompleteSignature');
      });
    } else {
      it('routes on the signed Action parameter, not the unsigned x-acs-action header', async () => {
        const req = toRawRequest(record);
        const headers = { ...req.headers, 'x-acs-action': 'DeleteLoadBalancer' };
        const verified = await verifyRequest({ ...req, headers }, optionsFor(record));
        assert.equal(verified.action, 'CreateListener');
      });
    }
  });
}

describe('all captures together', () => {
  it('verify through one shared registry (the #33/#34 retry pair carries distinct nonces)', async () => {
    const nonces = new MemoryNonceRegistry();
    for (const record of captures) {
      await verifyRequest(toRawRequest(record), optionsFor(record, { nonces }));
    }
    assert.equal(nonces.size, captures.length);
  });

  it('the retry pair differs in nonce and carries x-acs-retry-attempts on the retry', async () => {
    const [first, retry] = captures.filter((r) => r.seq === 33 || r.seq === 34);
    const a = await verifyRequest(toRawRequest(first), optionsFor(first));
    const b = await verifyRequest(toRawRequest(retry), optionsFor(retry));
    assert.notEqual(a.nonce, b.nonce);
    assert.equal(retry.headers['x-acs-retry-attempts'], '1');
  });
});
