import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  /** PEM of the CA certificate: what a client trusts. */
  readonly caFile: string;
  /** A server certificate for 127.0.0.1 and localhost, signed by the CA, and its key. */
  readonly certFile: string;
  readonly keyFile: string;
}

/** A throwaway CA and a loopback server certificate made with openssl in `dir` (valid one day). */
export function makeTestCa(dir: string): TestCa {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=Postern test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.pem'), '-days', '1', '-extfile', file('server.ext'));
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}

/** redis-server arguments for a TLS listener on `tlsPort` (the plain port stays, for the test's own checks). */
export function redisTlsArgs(ca: TestCa, tlsPort: number): string[] {
  return ['--tls-port', String(tlsPort), '--tls-cert-file', ca.certFile, '--tls-key-file', ca.keyFile, '--tls-ca-cert-file', ca.caFile, '--tls-auth-clients', 'no'];
}
