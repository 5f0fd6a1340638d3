import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../src/gateway/errors.js';
import {
  checkDescription,
  checkMss,
  checkPortClaim,
  checkServerGroupFit,
  resolveIdleTimeout,
  resolvePorts,
  resolveTls,
  type GroupFacts,
} from '../../../src/products/nlb/listener-rules.js';
import { classifyServer } from '../../../src/products/nlb/listener-health.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    return err.code;
  }
  return 'no error';
}

test('idle timeout: 10–900 for TCP and TCPSSL (default 900), 10–20 for UDP (default 20)', () => {
  assert.equal(resolveIdleTimeout('TCP', undefined), 900);
  assert.equal(resolveIdleTimeout('TCPSSL', undefined), 900);
  assert.equal(resolveIdleTimeout('UDP', undefined), 20);
  assert.equal(resolveIdleTimeout('TCP', 10), 10);
  assert.equal(resolveIdleTimeout('UDP', 20), 20);
  assert.equal(
    codeOf(() => resolveIdleTimeout('TCP', 9)),
    'IllegalParam.IdleTimeout',
  );
  assert.equal(
    codeOf(() => resolveIdleTimeout('TCPSSL', 901)),
    'IllegalParam.IdleTimeout',
  );
  assert.equal(
    codeOf(() => resolveIdleTimeout('UDP', 21)),
    'IllegalParam.IdleTimeout',
  );
});

test('Mss is refused for UDP in any value, accepted for TCP', () => {
  assert.equal(
    codeOf(() => checkMss('UDP', 0)),
    'IllegalParam.MssConflictWithUdpAndGeneve',
  );
  assert.equal(
    codeOf(() => checkMss('TCP', 1400)),
    'no error',
  );
  assert.equal(
    codeOf(() => checkMss('UDP', undefined)),
    'no error',
  );
});

test('descriptions: 2–256 of letters, digits and , . ; / @ _ -', () => {
  assert.equal(
    codeOf(() => checkDescription('tcp_80')),
    'no error',
  );
  assert.equal(
    codeOf(() => checkDescription('监听-1')),
    'no error',
  );
  assert.equal(
    codeOf(() => checkDescription('x')),
    'IllegalParam.ListenerDescription',
  );
  assert.equal(
    codeOf(() => checkDescription('has space')),
    'IllegalParam.ListenerDescription',
  );
  assert.equal(
    codeOf(() => checkDescription('a'.repeat(257))),
    'IllegalParam.ListenerDescription',
  );
});

test('ports: a fixed port takes no range; port 0 needs StartPort < EndPort', () => {
  assert.deepEqual(resolvePorts(80), { ListenerPort: 80 });
  assert.deepEqual(resolvePorts(0, 100, 200), { ListenerPort: 0, StartPort: 100, EndPort: 200 });
  assert.equal(
    codeOf(() => resolvePorts(0, undefined, 200)),
    'MissingParam.StartPort',
  );
  assert.equal(
    codeOf(() => resolvePorts(0, 100)),
    'MissingParam.EndPort',
  );
  assert.equal(
    codeOf(() => resolvePorts(0, 200, 200)),
    'IllegalParam.Port',
  );
  assert.equal(
    codeOf(() => resolvePorts(0, 300, 200)),
    'IllegalParam.Port',
  );
  assert.equal(
    codeOf(() => resolvePorts(0, 0, 200)),
    'IllegalParam.Port',
  );
  assert.equal(
    codeOf(() => resolvePorts(80, 100, 200)),
    'IllegalParam.Port',
  );
  assert.deepEqual(resolvePorts(80, 0, 0), { ListenerPort: 80 });
});

test('port claims: TCP and TCPSSL share a space, UDP has its own, ranges overlap-check', () => {
  const tcp80 = { ListenerProtocol: 'TCP', ListenerPort: 80 };
  const udpRange = { ListenerProtocol: 'UDP', ListenerPort: 0, StartPort: 1000, EndPort: 2000 };
  assert.equal(
    codeOf(() => checkPortClaim({ ListenerProtocol: 'TCPSSL', ListenerPort: 80 }, [tcp80])),
    'Conflict.Port',
  );
  assert.equal(
    codeOf(() => checkPortClaim({ ListenerProtocol: 'UDP', ListenerPort: 80 }, [tcp80])),
    'no error',
  );
  assert.equal(
    codeOf(() => checkPortClaim({ ListenerProtocol: 'UDP', ListenerPort: 1500 }, [udpRange])),
    'Conflict.Port',
  );
  assert.equal(
    codeOf(() => checkPortClaim({ ListenerProtocol: 'TCP', ListenerPort: 1500 }, [udpRange])),
    'no error',
  );
  assert.equal(
    codeOf(() => checkPortClaim({ ListenerProtocol: 'TCP', ListenerPort: 0, StartPort: 50, EndPort: 90 }, [tcp80])),
    'Conflict.Port',
  );
  assert.equal(
    codeOf(() => checkPortClaim({ ListenerProtocol: 'TCP', ListenerPort: 0, StartPort: 3000, EndPort: 4000 }, [udpRange])),
    'DuplicatedParam.listener',
  );
  // The message names the port the range collides with.
  assert.throws(() => checkPortClaim({ ListenerProtocol: 'TCP', ListenerPort: 0, StartPort: 50, EndPort: 90 }, [tcp80]), /\[80\]/);
});

test('server group fit: VPC, protocol pairs, client IP preservation, any-port pairing', () => {
  const group = (over: Partial<GroupFacts>): GroupFacts => ({
    id: 'sgp-1',
    Protocol: 'TCP',
    VpcId: 'vpc-a',
    AnyPortEnabled: false,
    PreserveClientIpEnabled: false,
    ...over,
  });
  const fixed = (protocol: 'TCP' | 'UDP' | 'TCPSSL') => ({ protocol, portRange: false, vpcId: 'vpc-a' });
  assert.equal(
    codeOf(() => checkServerGroupFit(fixed('TCP'), group({ VpcId: 'vpc-b' }))),
    'Mismatch.VpcId',
  );
  assert.equal(
    codeOf(() => checkServerGroupFit(fixed('TCP'), group({ Protocol: 'TCP_UDP' }))),
    'no error',
  );
  assert.equal(
    codeOf(() => checkServerGroupFit(fixed('TCP'), group({ Protocol: 'UDP' }))),
    'Mismatch.Protocol',
  );
  assert.equal(
    codeOf(() => checkServerGroupFit(fixed('UDP'), group({ Protocol: 'TCP_UDP' }))),
    'no error',
  );
  assert.equal(
    codeOf(() => checkServerGroupFit(fixed('UDP'), group({ Protocol: 'TCP' }))),
    'Mismatch.Protocol',
  );
  assert.equal(
    codeOf(() => checkServerGroupFit(fixed('TCPSSL'), group({ Protocol: 'TCP_UDP' }))),
    'Mismatch.Protocol',
  );
  assert.equal(
    codeOf(() => checkServerGroupFit(fixed('TCPSSL'), group({ PreserveClientIpEnabled: true }))),
    'IllegalParam.PreserveClientIpSwitch',
  );
  assert.equal(
    codeOf(() => checkServerGroupFit({ protocol: 'TCP', portRange: true, vpcId: 'vpc-a' }, group({}))),
    'IllegalParam.AnyPortListenerConflictWithNonAnyPortServerGroup',
  );
  assert.equal(
    codeOf(() => checkServerGroupFit(fixed('TCP'), group({ AnyPortEnabled: true }))),
    'IllegalParam.NonAnyPortListenerConflictWithAnyPortServerGroup',
  );
});

test('TLS: only TCPSSL takes TLS parameters; exactly one server certificate; CA only with CaEnabled', () => {
  assert.equal(
    codeOf(() => resolveTls('TCP', { CertificateIds: ['c1'] })),
    'IllegalParam.CertificateIds',
  );
  assert.equal(
    codeOf(() => resolveTls('UDP', { SecurityPolicyId: 'tls_cipher_policy_1_2' })),
    'IllegalParam.SecurityPolicyId',
  );
  assert.equal(
    codeOf(() => resolveTls('TCP', { CaEnabled: false, AlpnEnabled: false })),
    'no error',
  );
  assert.equal(
    codeOf(() => resolveTls('TCPSSL', {})),
    'MissingParam.Certificate',
  );
  assert.equal(
    codeOf(() => resolveTls('TCPSSL', { CertificateIds: ['a', 'b'] })),
    'IllegalParamSize.certificateIds',
  );
  assert.equal(
    codeOf(() => resolveTls('TCPSSL', { CertificateIds: ['a', 'a'] })),
    'IllegalParamSize.certificateIds',
  );
  assert.equal(
    codeOf(() => resolveTls('TCPSSL', { CertificateIds: ['a'], CertificateId: 'b' })),
    'IllegalParamSize.certificateIds',
  );
  assert.equal(
    codeOf(() => resolveTls('TCPSSL', { CertificateIds: ['a'], CaEnabled: true, CaCertificateIds: ['x', 'y'] })),
    'IllegalParamSize.certificateIds',
  );
  // CA certificates with CaEnabled off are kept (the flag decides their use), as the cloud does.
  const stored = resolveTls('TCPSSL', { CertificateIds: ['a'], CaCertificateIds: ['x'], CaEnabled: false }).settings;
  assert.deepEqual([stored.CaEnabled, stored.CaCertificateIds], [false, ['x']]);
  const enabledLater = resolveTls('TCPSSL', { CaEnabled: true }, stored).settings;
  assert.deepEqual([enabledLater.CaEnabled, enabledLater.CaCertificateIds], [true, ['x']]);
  assert.equal(
    codeOf(() => resolveTls('TCPSSL', { CertificateIds: ['a'], CaEnabled: true })),
    'MissingParam.CaCertificateIds',
  );
  assert.equal(
    codeOf(() => resolveTls('TCPSSL', { CertificateIds: ['a'], AlpnEnabled: true })),
    'MissingParam.AlpnPolicy',
  );

  const created = resolveTls('TCPSSL', { CertificateId: 'a' });
  assert.deepEqual(created.settings.CertificateIds, ['a']);
  assert.equal(created.settings.SecurityPolicyId, 'tls_cipher_policy_1_0');
  // On update, what is not named keeps its value.
  const updated = resolveTls('TCPSSL', { AlpnEnabled: true, AlpnPolicy: 'HTTP2Only' }, created.settings);
  assert.deepEqual(updated.settings.CertificateIds, ['a']);
  assert.deepEqual(updated.requestedServerCertificates, []);
  assert.equal(updated.settings.AlpnPolicy, 'HTTP2Only');
});

test('health verdicts: HC off → Unavailable, weight 0 → Unused, no data → Initial, healthy → not listed', () => {
  assert.deepEqual(classifyServer({ Weight: 100 }, false, { state: 'healthy', reason: null }), { Status: 'Unavailable' });
  assert.deepEqual(classifyServer({ Weight: 0 }, true, undefined), { Status: 'Unused' });
  assert.deepEqual(classifyServer({ Weight: 100 }, true, undefined), { Status: 'Initial' });
  assert.equal(classifyServer({ Weight: 100 }, true, { state: 'healthy', reason: null }), undefined);
  assert.deepEqual(classifyServer({ Weight: 100 }, true, { state: 'unhealthy', reason: 'CONNECT_TIMEOUT' }), {
    Status: 'Unhealthy',
    Reason: { ReasonCode: 'CONNECT_TIMEOUT' },
  });
});
