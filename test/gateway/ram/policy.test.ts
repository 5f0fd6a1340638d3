import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluate,
  parsePolicy,
  PolicyDocumentError,
  resourceMatches,
  actionMatches,
  wildcardMatch,
  validatePolicy,
  type ParsedPolicy,
} from '../../../src/gateway/ram/policy.js';
import { arn, ALL_RESOURCES } from '../../../src/gateway/ram/arn.js';

const policy = (...statements: object[]): ParsedPolicy => parsePolicy(JSON.stringify({ Version: '1', Statement: statements }));

function rejects(document: string | object, pattern: RegExp): void {
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  assert.throws(
    () => parsePolicy(text),
    (err: unknown) => {
      assert.ok(err instanceof PolicyDocumentError, `expected PolicyDocumentError, got ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const allowAll = { Effect: 'Allow', Action: '*', Resource: '*' };

test('parses a valid document, normalising single strings to lists', () => {
  const p = parsePolicy(JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'nlb:Get*', Resource: '*' }] }), 'ro');
  assert.deepEqual(p, { name: 'ro', version: '1', statements: [{ effect: 'Allow', actions: ['nlb:Get*'], resources: ['*'] }] });
});

test('validation errors name the problem', () => {
  rejects('', /empty/);
  rejects('{not json', /not valid JSON/);
  rejects('[]', /must be a JSON object/);
  rejects({ Statement: [allowAll] }, /missing "Version"/);
  rejects({ Version: 1, Statement: [allowAll] }, /"Version" must be the string "1"/);
  rejects({ Version: '2', Statement: [allowAll] }, /"Version" must be the string "1", got "2"/);
  rejects({ Version: '1' }, /missing "Statement"/);
  rejects({ Version: '1', Statement: allowAll }, /"Statement" must be an array/);
  rejects({ Version: '1', Statement: [] }, /at least one statement/);
  rejects({ Version: '1', Statement: [allowAll], Id: 'x' }, /Unknown policy element "Id"/);
  rejects({ Version: '1', Statement: ['x'] }, /Statement\[0\] must be a JSON object/);
  rejects({ Version: '1', Statement: [{ Action: '*', Resource: '*' }] }, /Statement\[0\] is missing "Effect"/);
  rejects({ Version: '1', Statement: [{ ...allowAll, Effect: 'allow' }] }, /Effect must be "Allow" or "Deny", got "allow"/);
  rejects({ Version: '1', Statement: [{ Effect: 'Allow', Resource: '*' }] }, /missing "Action"/);
  rejects({ Version: '1', Statement: [{ ...allowAll, Action: [] }] }, /Action must not be empty/);
  rejects({ Version: '1', Statement: [{ ...allowAll, Action: [''] }] }, /Action must not contain an empty string/);
  rejects({ Version: '1', Statement: [{ ...allowAll, Action: [1] }] }, /Action must contain only strings/);
  rejects({ Version: '1', Statement: [{ ...allowAll, Action: 'GetListener' }] }, /"GetListener" is not of the form/);
  rejects({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*' }] }, /missing "Resource"/);
  rejects({ Version: '1', Statement: [{ ...allowAll, Resource: 'loadbalancer/nlb-x' }] }, /neither "\*" nor an ARN/);
  rejects(
    { Version: '1', Statement: [allowAll, { ...allowAll, NotAction: 'x' }] },
    /Statement\[1\] has the unsupported element "NotAction"/,
  );
  rejects(
    { Version: '1', Statement: [{ ...allowAll, Condition: { IpAddress: { 'acs:SourceIp': '10.0.0.0/8' } } }] },
    /Condition.*does not evaluate condition keys/,
  );
  rejects('x'.repeat(7000), /limit is 6144/);
  assert.throws(() => validatePolicy(null), PolicyDocumentError);
});

test('wildcards: * spans any characters, ? exactly one', () => {
  assert.ok(wildcardMatch('*', ''));
  assert.ok(wildcardMatch('*', 'acs:nlb:cn-hangzhou:1:loadbalancer/nlb-x'));
  assert.ok(wildcardMatch('a*b*c', 'a-x-b-y-c'));
  assert.ok(!wildcardMatch('a*b*c', 'a-x-b-y-d'));
  assert.ok(wildcardMatch('nlb-?', 'nlb-x'));
  assert.ok(!wildcardMatch('nlb-?', 'nlb-'));
  assert.ok(!wildcardMatch('nlb-?', 'nlb-xy'));
  assert.ok(wildcardMatch('**?', 'abc'));
  // A pattern that is exponential for naive backtracking regexes stays fast.
  assert.ok(!wildcardMatch('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000)));
});

test('actions match case-insensitively', () => {
  assert.ok(actionMatches('nlb:Get*', 'nlb:GetListenerAttribute'));
  assert.ok(actionMatches('NLB:get*', 'nlb:GetListenerAttribute'));
  assert.ok(actionMatches('*', 'gwlb:CreateListener'));
  assert.ok(actionMatches('nlb:*', 'nlb:CreateListener'));
  assert.ok(!actionMatches('nlb:*', 'gwlb:CreateListener'));
  assert.ok(!actionMatches('nlb:Get*', 'nlb:CreateListener'));
});

test('resources match case-sensitively, except the service prefix', () => {
  const lb = arn('nlb', 'cn-hangzhou', '1234567890123456', 'loadbalancer', 'nlb-abc');
  assert.equal(lb, 'acs:nlb:cn-hangzhou:1234567890123456:loadbalancer/nlb-abc');
  assert.ok(resourceMatches('acs:nlb:*:*:*', lb));
  assert.ok(resourceMatches('ACS:NLB:*:*:loadbalancer/nlb-abc', lb));
  assert.ok(!resourceMatches('acs:nlb:*:*:loadbalancer/NLB-ABC', lb));
  assert.ok(!resourceMatches('acs:nlb:*:*:LoadBalancer/nlb-abc', lb));
  assert.ok(resourceMatches('acs:nlb:cn-hangzhou:*:loadbalancer/nlb-a?c', lb));
  assert.ok(!resourceMatches('acs:gwlb:*:*:*', lb));
  assert.ok(resourceMatches('*', lb));
});

const ACCOUNT = '1234567890123456';
const lbArn = (id: string) => arn('nlb', 'cn-hangzhou', ACCOUNT, 'loadbalancer', id);

test('a read-only policy allows Get/List/Describe and implicitly denies writes', () => {
  const readOnly = policy({ Effect: 'Allow', Action: ['nlb:Get*', 'nlb:List*', 'nlb:Describe*'], Resource: '*' });
  assert.deepEqual(evaluate([readOnly], { action: 'nlb:GetListenerAttribute', resources: [lbArn('nlb-x')] }), { allowed: true });
  assert.deepEqual(evaluate([readOnly], { action: 'nlb:ListLoadBalancers', resources: [ALL_RESOURCES] }), { allowed: true });
  assert.deepEqual(evaluate([readOnly], { action: 'nlb:DescribeRegions', resources: [] }), { allowed: true });
  assert.deepEqual(evaluate([readOnly], { action: 'nlb:CreateListener', resources: [lbArn('nlb-x')] }), {
    allowed: false,
    deniedBy: 'ImplicitDeny',
    resource: lbArn('nlb-x'),
  });
});

test('no policies at all is an implicit deny', () => {
  assert.equal(evaluate([], { action: 'nlb:GetListenerAttribute', resources: ['*'] }).deniedBy, 'ImplicitDeny');
});

test('an explicit Deny beats an Allow *', () => {
  const policies = [policy(allowAll), policy({ Effect: 'Deny', Action: 'nlb:*', Resource: 'acs:nlb:*:*:loadbalancer/nlb-x' })];
  assert.deepEqual(evaluate(policies, { action: 'nlb:DeleteLoadBalancer', resources: [lbArn('nlb-x')] }), {
    allowed: false,
    deniedBy: 'ExplicitDeny',
    resource: lbArn('nlb-x'),
  });
  assert.deepEqual(evaluate(policies, { action: 'nlb:DeleteLoadBalancer', resources: [lbArn('nlb-y')] }), { allowed: true });
  // The Deny is for nlb only.
  assert.deepEqual(evaluate(policies, { action: 'gwlb:DeleteLoadBalancer', resources: ['acs:gwlb:cn-hangzhou:1:loadbalancer/nlb-x'] }), {
    allowed: true,
  });
  // Denied if any one of several resources is denied, even when another is allowed.
  assert.equal(evaluate(policies, { action: 'nlb:CreateListener', resources: [lbArn('nlb-y'), lbArn('nlb-x')] }).deniedBy, 'ExplicitDeny');
});

test('resource-level allow for one load balancer', () => {
  const onlyX = policy({ Effect: 'Allow', Action: 'nlb:*', Resource: `acs:nlb:*:${ACCOUNT}:loadbalancer/nlb-x` });
  assert.equal(evaluate([onlyX], { action: 'nlb:UpdateLoadBalancerAttribute', resources: [lbArn('nlb-x')] }).allowed, true);
  assert.deepEqual(evaluate([onlyX], { action: 'nlb:UpdateLoadBalancerAttribute', resources: [lbArn('nlb-y')] }), {
    allowed: false,
    deniedBy: 'ImplicitDeny',
    resource: lbArn('nlb-y'),
  });
  // Actions without resource-level authorization are only granted by "Resource": "*".
  assert.equal(evaluate([onlyX], { action: 'nlb:ListLoadBalancers', resources: [ALL_RESOURCES] }).allowed, false);
});

test('a multi-resource request needs every resource allowed, possibly by different statements', () => {
  const sg = arn('nlb', 'cn-hangzhou', ACCOUNT, 'servergroup', 'sgp-1');
  const lbOnly = policy({ Effect: 'Allow', Action: 'nlb:CreateListener', Resource: 'acs:nlb:*:*:loadbalancer/*' });
  const request = { action: 'nlb:CreateListener', resources: [lbArn('nlb-x'), sg] };
  assert.deepEqual(evaluate([lbOnly], request), { allowed: false, deniedBy: 'ImplicitDeny', resource: sg });
  const sgToo = policy({ Effect: 'Allow', Action: 'nlb:Create*', Resource: 'acs:nlb:*:*:servergroup/sgp-*' });
  assert.deepEqual(evaluate([lbOnly, sgToo], request), { allowed: true });
});
