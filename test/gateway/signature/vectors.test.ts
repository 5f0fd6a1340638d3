// Published Alibaba test vectors and the worked examples of the wire-protocol note, checked
// against the pure canonicalisation functions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseForm, mergeParams } from '../../../src/gateway/form.js';
import {
  acs3Signature,
  acs3StringToSign,
  buildAcs3CanonicalRequest,
  canonicalHeaderValue,
  canonicalQueryString,
  parseAcs3Authorization,
  readAcs3Request,
} from '../../../src/gateway/signature/acs3.js';
import { rpcCanonicalizedParams, rpcSignature, rpcStringToSign } from '../../../src/gateway/signature/rpc.js';
import { SECRET, captures, toRawRequest } from './fixtures.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('published vectors', () => {
  it('ACS3-HMAC-SHA256 RunInstances', () => {
    const canonical = buildAcs3CanonicalRequest({
      method: 'POST',
      path: '/',
      queryPairs: parseForm('ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai'),
      signedHeaderValues: new Map([
        ['host', 'ecs.cn-shanghai.aliyuncs.com'],
        ['x-acs-action', 'RunInstances'],
        ['x-acs-content-sha256', EMPTY_SHA256],
        ['x-acs-date', '2023-10-26T09:01:01Z'],
        ['x-acs-signature-nonce', 'd410180a5abf7fe235dd9b74aca91fc0'],
        ['x-acs-version', '2014-05-26'],
      ]),
      hashedPayload: EMPTY_SHA256,
    });
    const signature = acs3Signature('ACS3-HMAC-SHA256', 'YourAccessKeySecret', acs3StringToSign('ACS3-HMAC-SHA256', canonical));
    assert.equal(signature, 'e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804');
  });

  const describeRegions = {
    AccessKeyId: 'testid',
    Action: 'DescribeRegions',
    Format: 'XML',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
    SignatureVersion: '1.0',
    Version: '2014-05-26',
  };

  it('RPC HMAC-SHA1 DescribeRegions with Timestamp', () => {
    const params = { ...describeRegions, Timestamp: '2016-02-23T12:46:24Z' };
    assert.equal(rpcSignature('testsecret', rpcStringToSign('GET', params)), 'OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });

  it('RPC HMAC-SHA1 DescribeRegions with the parameter spelled TimeStamp', () => {
    const params = { ...describeRegions, TimeStamp: '2016-02-23T12:46:24Z' };
    assert.equal(rpcSignature('testsecret', rpcStringToSign('GET', params)), 'CT9X0VtwR86fNWSnsc6v8YGOjuE=');
  });
});

describe('worked examples from the captures', () => {
  it('capture #18 (V3, parameters in the query): canonical request, string to sign, signature', () => {
    const record = captures.find((r) => r.seq === 18)!;
    const req = toRawRequest(record);
    const v3 = readAcs3Request(req, parseForm(req.rawQuery));
    const canonical = buildAcs3CanonicalRequest({
      method: v3.method,
      path: v3.path,
      queryPairs: v3.queryPairs,
      signedHeaderValues: v3.signedHeaderValues,
      hashedPayload: v3.contentSha256,
    });
    const lines = canonical.split('\n');
    assert.equal(lines[0], 'POST');
    assert.equal(lines[1], '/');
    // `*!'()` arrive raw but are signed encoded.
    assert.ok(
      lines[2].includes('ListenerDescription=desc%20with%20spaces%20%26%20symbols%20%2F%2B%3D%2A%21%27%28%29~%20and%20%C3%BCn%C3%AFcode'),
    );
    assert.ok(lines[2].startsWith('CertificateIds.1=cert-1&CertificateIds.2=cert-2&DryRun=false&IdleTimeout=900&'));
    assert.ok(lines[2].endsWith('&Tag.2.Key=team&Tag.2.Value=net%20ops'));
    assert.equal(lines[3], 'host:127.0.0.1:36661');
    assert.equal(lines[10], '');
    assert.equal(
      lines[11],
      'host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version',
    );
    assert.equal(lines[12], EMPTY_SHA256);
    const stringToSign = acs3StringToSign('ACS3-HMAC-SHA256', canonical);
    assert.equal(stringToSign, 'ACS3-HMAC-SHA256\n7f170697f19c23cf785259468893def5751713b12426284ff12ec76a04f3506a');
    assert.equal(
      acs3Signature('ACS3-HMAC-SHA256', SECRET, stringToSign),
      '8b454e2d9602139cb273d9b09d38beaf6cf18c48795b6d1caa4ac05011316bf3',
    );
  });

  it('capture #19 (V3, parameters in the body): empty query line and content-type signed', () => {
    const record = captures.find((r) => r.seq === 19)!;
    const req = toRawRequest(record);
    const v3 = readAcs3Request(req, parseForm(req.rawQuery));
    const canonical = buildAcs3CanonicalRequest({ ...v3, hashedPayload: v3.contentSha256 });
    assert.equal(canonical.split('\n')[2], '');
    assert.equal(canonical.split('\n')[3], 'content-type:application/x-www-form-urlencoded');
    assert.equal(
      acs3StringToSign('ACS3-HMAC-SHA256', canonical),
      'ACS3-HMAC-SHA256\n15b5e35442acc2182ae42ef971f22be275aac3082dcc3c23feb813771a4e8be5',
    );
  });

  it('capture #37 (pop-core POST): canonicalized parameters and signature', () => {
    const record = captures.find((r) => r.seq === 37)!;
    const params = mergeParams(parseForm(record.rawQuery), parseForm(record.body));
    const canonical = rpcCanonicalizedParams(params);
    assert.ok(canonical.startsWith('AccessKeyId=LTAItestAccessKeyId&Action=CreateListener&CertificateIds.1=cert-1&'));
    assert.ok(canonical.includes('&SignatureMethod=HMAC-SHA1&SignatureNonce=9887a93aa077bb878c92a43d8b31fe34&SignatureVersion=1.0&'));
    assert.ok(canonical.endsWith('&Timestamp=2026-11-22T02%3A58%3A44Z&Version=2022-04-30'));
    assert.ok(!canonical.includes('Signature='));
    const stringToSign = rpcStringToSign('POST', params);
    assert.ok(stringToSign.startsWith('POST&%2F&AccessKeyId%3DLTAItestAccessKeyId%26'));
    assert.ok(stringToSign.includes('%26Timestamp%3D2026-11-22T02%253A58%253A44Z%26'));
    assert.equal(rpcSignature(SECRET, stringToSign), '2bsL3sAnGonk03DEkHQF9IsOw/Y=');
    assert.equal(params.Signature, '2bsL3sAnGonk03DEkHQF9IsOw/Y=');
  });

  it('capture #26 (openapi-core V2, split query/body): signed over query ∪ body', () => {
    const record = captures.find((r) => r.seq === 26)!;
    const params = mergeParams(parseForm(record.rawQuery), parseForm(record.body));
    assert.equal(rpcSignature(SECRET, rpcStringToSign(record.method, params)), params.Signature);
  });
});

describe('canonicalisation details', () => {
  it('sorts query names by code unit (case-sensitive) and a repeated name by value', () => {
    assert.equal(
      canonicalQueryString([
        ['b', '2'],
        ['B', '1'],
        ['a', 'z'],
        ['a', 'y'],
      ]),
      'B=1&a=y&a=z&b=2',
    );
  });

  it('encodes names and values strictly, empty values kept', () => {
    assert.equal(
      canonicalQueryString([
        ['K*', "v !'()"],
        ['E', ''],
      ]),
      'E=&K%2A=v%20%21%27%28%29',
    );
  });

  it('trims header values and joins repeated ones sorted with commas', () => {
    assert.equal(canonicalHeaderValue(['  b ', 'a']), 'a,b');
    assert.equal(canonicalHeaderValue([' x ']), 'x');
  });

  it('parses Authorization, tolerating spaces after commas and upper-case header names', () => {
    const auth = parseAcs3Authorization('ACS3-HMAC-SM3 Credential=AK, SignedHeaders=Host;x-acs-date, Signature=abc');
    assert.deepEqual(auth, { algorithm: 'ACS3-HMAC-SM3', accessKeyId: 'AK', signedHeaders: ['host', 'x-acs-date'], signature: 'abc' });
  });
});
