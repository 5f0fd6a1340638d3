// Shared by the signature tests: the 46 requests the real SDKs sent to a capture server,
// kept in the repository (sdk-captures.json) so the suite reads nothing outside it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ApiError } from '../../../src/gateway/errors.js';
import { MemoryNonceRegistry } from '../../../src/gateway/signature/nonce-registry.js';
import type { RawRequest, VerifyOptions } from '../../../src/gateway/signature/types.js';

export const ACCESS_KEY_ID = 'LTAItestAccessKeyId';
export const SECRET = 'testAccessKeySecret';

export interface CaptureRecord {
  seq: number;
  label: string;
  receivedAt: string;
  method: string;
  path: string;
  rawQuery: string;
  rawHeaders: string[];
  headers: Record<string, string>;
  body: string;
  query: Record<string, string> | null;
  bodyParams: Record<string, string> | null;
  verification: { ok: boolean; scheme: string; accessKeyId: string };
}

export const captures: CaptureRecord[] = JSON.parse(readFileSync(new URL('./sdk-captures.json', import.meta.url), 'utf8'));

/** Header names lower-cased as Node delivers them; a repeated header becomes an array. */
export function toRawRequest(record: CaptureRecord): RawRequest {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < record.rawHeaders.length; i += 2) {
    const name = record.rawHeaders[i].toLowerCase();
    const value = record.rawHeaders[i + 1];
    const existing = headers[name];
    headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  // The captured bodies are percent-encoded form strings, i.e. plain ASCII.
  return { method: record.method, path: record.path, rawQuery: record.rawQuery, headers, body: Buffer.from(record.body, 'utf8') };
}

export function isV3(record: CaptureRecord): boolean {
  return record.verification.scheme.startsWith('ACS3-');
}

export function optionsFor(record: CaptureRecord, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    now: Date.parse(record.receivedAt),
    lookupSecret: (id) => (id === ACCESS_KEY_ID ? SECRET : undefined),
    nonces: new MemoryNonceRegistry(),
    ...overrides,
  };
}

export async function rejectsWithCode(promise: Promise<unknown>, code: string, httpStatus = 400): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.httpStatus, httpStatus);
    return true;
  });
}
