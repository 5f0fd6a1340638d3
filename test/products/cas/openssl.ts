/**
 * Test certificates made with the real `openssl` command at test time, in a temp directory:
 * a CA, a server certificate it signed (RSA, with SANs and a subject), a self-signed ECDSA
 * certificate that expires soon, an Ed25519 certificate, and a key that matches none of them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** serverCert followed by caCert, as a chain upload. */
  serverChain: string;
  /** SHA-1 fingerprint of serverCert as openssl prints it, upper-case hex without colons. */
  serverFingerprint: string;
  ecCert: string;
  ecKey: string;
  ed25519Cert: string;
  ed25519Key: string;
  otherKey: string;
}

function openssl(dir: string, args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'openslb-pki-'));
  try {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '365',
      '-subj',
      '/C=CN/O=OpenSLB Test CA/CN=OpenSLB Test Root',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    openssl(dir, [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/C=CN/ST=Zhejiang/L=Hangzhou/O=Example Corp/CN=www.example.com',
    ]);
    writeFileSync(
      join(dir, 'server.ext'),
      'basicConstraints=CA:FALSE\nsubjectAltName=DNS:www.example.com,DNS:api.example.com,IP:127.0.0.1\n',
    );
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '200',
      '-extfile',
      'server.ext',
    ]);
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ec.key',
      '-out',
      'ec.pem',
      '-days',
      '10',
      '-subj',
      '/CN=ec.example.com',
      '-addext',
      'subjectAltName=DNS:ec.example.com',
      '-addext',
      'basicConstraints=CA:FALSE',
    ]);
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ed25519',
      '-nodes',
      '-keyout',
      'ed.key',
      '-out',
      'ed.pem',
      '-days',
      '10',
      '-subj',
      '/CN=ed.example.com',
    ]);
    openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'other.key']);
    const fingerprint = openssl(dir, ['x509', '-in', 'server.pem', '-noout', '-fingerprint', '-sha1'])
      .trim()
      .replace(/^.*=/, '')
      .replace(/:/g, '')
      .toUpperCase();
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return {
      caCert: read('ca.pem'),
      caKey: read('ca.key'),
      serverCert: read('server.pem'),
      serverKey: read('server.key'),
      serverChain: read('server.pem') + read('ca.pem'),
      serverFingerprint: fingerprint,
      ecCert: read('ec.pem'),
      ecKey: read('ec.key'),
      ed25519Cert: read('ed.pem'),
      ed25519Key: read('ed.key'),
      otherKey: read('other.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
