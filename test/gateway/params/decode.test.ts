import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeParams, foldParams } from '../../../src/gateway/params/decode.js';
import { p } from '../../../src/gateway/params/spec.js';
import { ApiError } from '../../../src/gateway/errors.js';

const spec = {
  LoadBalancerId: p.string({ required: true, maxLength: 64 }),
  ListenerPort: p.integer({ min: 0, max: 65535 }),
  IdleTimeout: p.integer({ min: 1, max: 900, default: 900 }),
  Enabled: p.boolean({ default: false }),
  Protocol: p.string({ enum: ['TCP', 'UDP'], caseInsensitive: true }),
  Name: p.string({ minLength: 2, maxLength: 5, pattern: /^[a-z]+$/ }),
  Tag: p.list(p.object({ Key: p.string({ required: true, errorName: 'TagKey' }), Value: p.string() }), { maxItems: 3 }),
  CertificateIds: p.list(p.string()),
  HealthCheckConfig: p.object({ HealthCheckInterval: p.integer({ min: 1, max: 50 }), HealthCheckHttpCode: p.list(p.string()) }),
  ProxyProtocolV2Config: p.json({ Ppv2VpcIdEnabled: p.boolean() }),
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return e.code;
  }
  return 'no error';
}

test('folds flattened names into a tree', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(foldParams({ 'Tag.1.Key': 'a', 'Tag.2.Value': 'b', X: '1' }))), {
    Tag: { 1: { Key: 'a' }, 2: { Value: 'b' } },
    X: '1',
  });
});

test('coerces strings into the declared types and fills defaults', () => {
  const out = decodeParams(spec, {
    LoadBalancerId: 'nlb-1',
    ListenerPort: '80',
    Enabled: 'TRUE',
    Protocol: 'tcp',
    'HealthCheckConfig.HealthCheckInterval': '5',
    'HealthCheckConfig.HealthCheckHttpCode.1': 'http_2xx',
    ProxyProtocolV2Config: '{"Ppv2VpcIdEnabled":true}',
    Unknown: 'ignored',
  });
  assert.equal(out.ListenerPort, 80);
  assert.equal(out.IdleTimeout, 900);
  assert.equal(out.Enabled, true);
  assert.equal(out.Protocol, 'TCP');
  assert.deepEqual(out.HealthCheckConfig, { HealthCheckInterval: 5, HealthCheckHttpCode: ['http_2xx'] });
  assert.deepEqual(out.ProxyProtocolV2Config, { Ppv2VpcIdEnabled: true });
  assert.equal(out.Tag, undefined);
  assert.equal('Unknown' in out, false);
});

test('repeat lists keep index order and tolerate gaps', () => {
  const out = decodeParams(spec, {
    LoadBalancerId: 'x',
    'CertificateIds.3': 'c3',
    'CertificateIds.1': 'c1',
    'Tag.10.Key': 'k10',
    'Tag.2.Key': 'k2',
    'Tag.2.Value': 'v2',
  });
  assert.deepEqual(out.CertificateIds, ['c1', 'c3']);
  assert.deepEqual(out.Tag, [
    { Key: 'k2', Value: 'v2' },
    { Key: 'k10', Value: undefined },
  ]);
});

test('the flattened form of a JSON parameter is accepted too', () => {
  const out = decodeParams(spec, { LoadBalancerId: 'x', 'ProxyProtocolV2Config.Ppv2VpcIdEnabled': 'false' });
  assert.deepEqual(out.ProxyProtocolV2Config, { Ppv2VpcIdEnabled: false });
});

test('each kind of bad input has its Alibaba code', () => {
  assert.equal(
    code(() => decodeParams(spec, {})),
    'MissingParam.LoadBalancerId',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: '' })),
    'MissingParam.LoadBalancerId',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', ListenerPort: '8o' })),
    'IllegalParam.ListenerPort',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', ListenerPort: '65536' })),
    'IllegalParam.ListenerPort',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', Enabled: 'yes' })),
    'IllegalParam.Enabled',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', Protocol: 'SCTP' })),
    'IllegalParam.Protocol',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', Name: 'a' })),
    'IllegalParam.Name',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', Name: 'ABC' })),
    'IllegalParam.Name',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', 'Tag.1.Value': 'v' })),
    'MissingParam.TagKey',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', 'Tag.x.Key': 'k' })),
    'IllegalParam.Tag',
  );
  const four = Object.fromEntries([1, 2, 3, 4].map((i) => [`Tag.${i}.Key`, `k${i}`]));
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', ...four })),
    'IllegalParamSize.Tag',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', 'HealthCheckConfig.HealthCheckInterval': '51' })),
    'IllegalParam.HealthCheckInterval',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', ProxyProtocolV2Config: '{oops' })),
    'IllegalParam.ProxyProtocolV2Config',
  );
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', ProxyProtocolV2Config: '{"Ppv2VpcIdEnabled":"maybe"}' })),
    'IllegalParam.Ppv2VpcIdEnabled',
  );
});

test('lengths count characters, not UTF-16 units', () => {
  const s = { N: p.string({ maxLength: 2 }) };
  assert.equal(decodeParams(s, { N: '😀😀' }).N, '😀😀');
  assert.equal(
    code(() => decodeParams(s, { N: '😀😀😀' })),
    'IllegalParam.N',
  );
});

test('an empty optional value is "not set", at any depth (the Terraform provider sends every field it knows)', () => {
  const out = decodeParams(spec, {
    LoadBalancerId: 'nlb-1',
    ListenerPort: '',
    IdleTimeout: '',
    Enabled: '',
    Protocol: '',
    Name: '',
    'Tag.1.Key': 'env',
    'Tag.1.Value': '',
    'HealthCheckConfig.HealthCheckInterval': '',
    ProxyProtocolV2Config: '',
  });
  assert.equal(out.ListenerPort, undefined);
  assert.equal(out.IdleTimeout, 900, 'the default applies, as when the field is absent');
  assert.equal(out.Enabled, false);
  assert.equal(out.Protocol, undefined);
  assert.equal(out.Name, undefined, 'not refused by minLength or pattern');
  assert.deepEqual(out.Tag, [{ Key: 'env', Value: undefined }]);
  assert.equal(out.HealthCheckConfig?.HealthCheckInterval, undefined);
  assert.equal(out.ProxyProtocolV2Config, undefined);
  // A required one sent empty is missing, wherever it sits.
  assert.equal(
    code(() => decodeParams(spec, { LoadBalancerId: 'x', 'Tag.1.Key': '' })),
    'MissingParam.TagKey',
  );
});

test('keepSpelling: validated without case, answered as the client spelled it', () => {
  const kept = { Scheduler: p.string({ enum: ['Wrr', 'rr', 'qch'], caseInsensitive: true, keepSpelling: true, default: 'Wrr' }) };
  assert.equal(decodeParams(kept, { Scheduler: 'Rr' }).Scheduler, 'Rr');
  assert.equal(decodeParams(kept, { Scheduler: 'QCH' }).Scheduler, 'QCH');
  assert.equal(decodeParams(kept, {}).Scheduler, 'Wrr', 'a default keeps the documented spelling');
  assert.equal(
    code(() => decodeParams(kept, { Scheduler: 'Rrr' })),
    'IllegalParam.Scheduler',
  );
  // Without keepSpelling the declared spelling is answered, as before.
  assert.equal(decodeParams(spec, { LoadBalancerId: 'x', Protocol: 'tcp' }).Protocol, 'TCP');
});
