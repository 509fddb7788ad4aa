/**
 * deploy/kubernetes/: the manifests say what the issue promises (two Postern replicas sharing one
 * Redis, the session secret and users file from Secrets, probes, a non-root read-only container,
 * an ingress-nginx Ingress asking /verify/nginx), and the promise holds when run: two built
 * Postern processes with the Deployment's own arguments, environment and mounts (laid out in a
 * temp dir) and the Kubernetes postern.yml share a real redis-server; a session started on one is
 * valid on the other, and ends on both.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { CookieJar } from 'tough-cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { parseConfig } from '../../src/config/load.js';
import { compileTrustedProxies } from '../../src/http/trusted-proxies.js';
import { buildUsers, type TestUser } from '../support/app-fixture.js';
import { substitute } from '../support/examples.js';
import { freePort } from '../support/free-port.js';
import { parseForm, TestClient } from '../support/http-client.js';
import { CLI } from '../support/postern-process.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { askVerify } from '../support/verify-client.js';
import { startServer, type ServerProcess } from './run-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const K8S = join(ROOT, 'deploy/kubernetes');

// ---------------------------------------------------------------------------------------------
// Reading the manifests

type Obj = Record<string, unknown>;

interface Kustomization {
  namespace: string;
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
  secretGenerator: { name: string; files: string[] }[];
  images: { name: string; newName: string; newTag: string }[];
}

interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value: string }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface Probe {
  httpGet?: { path: string; port: string | number };
}

interface Volume {
  name: string;
  secret?: { secretName: string; defaultMode?: number };
  configMap?: { name: string };
  emptyDir?: Obj;
}

interface Deployment {
  metadata: { name: string };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { securityContext: { runAsNonRoot?: boolean; runAsUser?: number }; containers: Container[]; volumes: Volume[] };
    };
  };
}

interface Service {
  metadata: { name: string };
  spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] };
}

interface Ingress {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { rules: { host: string; http: { paths: { backend: { service: { name: string; port: { number: number } } } }[] } }[] };
}

const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as Kustomization;

const manifests: { file: string; doc: Obj }[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { file, doc: d.toJS() as Obj };
  }),
);

function find<T>(kind: string, name: string): T {
  const found = manifests.filter(({ doc }) => doc.kind === kind && (doc.metadata as Obj | undefined)?.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!.doc as T;
}

const posternDeployment = find<Deployment>('Deployment', 'postern');
const postern = posternDeployment.spec.template.spec.containers.find((c) => c.name === 'postern')!;
const posternVolumes = posternDeployment.spec.template.spec.volumes;

function mountOf(volume: (v: Volume) => boolean): string {
  const name = posternVolumes.find(volume)?.name;
  const mount = postern.volumeMounts.find((m) => m.name === name);
  if (!mount) throw new Error('no such volume mounted in the postern container');
  return mount.mountPath;
}

function envValue(name: string): string | undefined {
  return postern.env.find((e) => e.name === name)?.value;
}

/** `key=path` or `path` (key = file name) entries of a generator. */
function generatorFiles(files: string[]): { key: string; path: string }[] {
  return files.map((entry) => {
    const eq = entry.indexOf('=');
    return eq === -1 ? { key: posix.basename(entry), path: entry } : { key: entry.slice(0, eq), path: entry.slice(eq + 1) };
  });
}

/** The generated ConfigMap or Secret a volume names, as its keys and the files they come from. */
function generatedFor(volume: Volume): { key: string; path: string }[] {
  const name = volume.secret?.secretName ?? volume.configMap?.name;
  const generators = volume.secret ? kustomization.secretGenerator : kustomization.configMapGenerator;
  const generator = generators.find((g) => g.name === name);
  if (!generator) throw new Error(`volume ${volume.name} names ${name}, which kustomization.yaml does not generate`);
  return generatorFiles(generator.files);
}

const AUTH_ANNOTATIONS = {
  'nginx.ingress.kubernetes.io/auth-url': `http://postern.${kustomization.namespace}.svc.cluster.local:9190/verify/nginx`,
  'nginx.ingress.kubernetes.io/auth-signin': 'https://auth.example.com/login?rd=$scheme://$host$escaped_request_uri',
  'nginx.ingress.kubernetes.io/auth-response-headers': 'Remote-User,Remote-Role,Remote-Groups,Remote-Email,Remote-Name',
};

describe('deploy/kubernetes, as written', () => {
  it('kustomization.yaml lists every file in the folder; what it lists exists, but for secrets/ the operator creates', () => {
    const onDisk = readdirSync(K8S, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && !d.name.startsWith('.'))
      .map((d) => relative(K8S, join(d.parentPath, d.name)))
      .filter((f) => f !== 'kustomization.yaml' && !f.startsWith('secrets/'));
    const listed = [
      ...kustomization.resources,
      ...kustomization.configMapGenerator.flatMap((g) => generatorFiles(g.files).map((f) => f.path)),
      ...kustomization.secretGenerator.flatMap((g) => generatorFiles(g.files).map((f) => f.path)),
    ];
    expect(onDisk.filter((f) => !listed.includes(f)), 'files kustomization.yaml does not list').toEqual([]);
    const missing = listed.filter((f) => !onDisk.includes(f));
    expect(missing.filter((f) => !f.startsWith('secrets/')), 'listed but missing').toEqual([]);
    expect(readFileSync(join(K8S, 'secrets/.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it('every manifest has apiVersion, kind and a name, and none sets its own namespace (kustomize does)', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    for (const { file, doc } of manifests) {
      expect(doc.apiVersion, file).toEqual(expect.any(String));
      expect(doc.kind, file).toEqual(expect.any(String));
      expect((doc.metadata as Obj).name, file).toEqual(expect.any(String));
      expect((doc.metadata as Obj).namespace, file).toBeUndefined();
    }
    expect(find<Obj>('Namespace', kustomization.namespace)).toBeDefined();
  });

  it('runs Postern as 2 replicas of the image, non-root, with a read-only root filesystem and an emptyDir at /data', () => {
    expect(posternDeployment.spec.replicas).toBe(2);
    expect(kustomization.images.map((i) => i.name)).toContain(postern.image);
    const pod = posternDeployment.spec.template.spec.securityContext;
    expect(pod.runAsNonRoot).toBe(true);
    expect(pod.runAsUser).not.toBe(0);
    expect(postern.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(posternVolumes.find((v) => v.name === postern.volumeMounts.find((m) => m.mountPath === '/data')?.name)?.emptyDir).toBeDefined();
  });

  it('gives the session secret and the users file as files mounted from Secrets, named by POSTERN_SESSION_SECRET_FILE and POSTERN_USERS_FILE', () => {
    for (const [variable, generated] of [['POSTERN_SESSION_SECRET_FILE', 'postern-session'], ['POSTERN_USERS_FILE', 'postern-users']] as const) {
      const volume = posternVolumes.find((v) => v.secret?.secretName === generated)!;
      const mount = mountOf((v) => v === volume);
      const key = generatedFor(volume)[0]!.key;
      expect(envValue(variable), variable).toBe(`${mount}/${key}`);
      expect(postern.volumeMounts.find((m) => m.mountPath === mount)?.readOnly).toBe(true);
    }
  });

  it('reads its config from the ConfigMap generated from postern.yml, mounted where --config points', () => {
    const volume = posternVolumes.find((v) => v.configMap !== undefined)!;
    expect(generatedFor(volume)).toEqual([{ key: 'postern.yml', path: 'postern.yml' }]);
    expect(postern.args).toEqual(['serve', '--config', `${mountOf((v) => v === volume)}/postern.yml`]);
  });

  it('probes readiness on /readyz and liveness on /healthz, on the container port 9190', () => {
    expect(postern.ports).toEqual([{ name: 'http', containerPort: 9190 }]);
    expect(postern.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(postern.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(postern.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('sets resource requests and limits', () => {
    expect(Object.keys(postern.resources.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(postern.resources.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
  });

  it('has Services postern:9190 and redis:6379 selecting their Deployments', () => {
    for (const [name, port] of [['postern', 9190], ['redis', 6379]] as const) {
      const service = find<Service>('Service', name);
      const deployment = find<Deployment>('Deployment', name);
      expect(service.spec.ports.map((p) => p.port)).toEqual([port]);
      expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
      expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    }
    expect(find<Deployment>('Deployment', 'redis').spec.replicas).toBe(1);
    expect(find<Deployment>('Deployment', 'redis').spec.template.spec.containers[0]!.image).toBe('redis:7-alpine');
  });

  it("protects the app and share hosts with ingress-nginx's auth-url (/verify/nginx on the postern Service), auth-signin and auth-response-headers", () => {
    const app = find<Ingress>('Ingress', 'app');
    expect(app.metadata.annotations).toEqual(AUTH_ANNOTATIONS);
    expect(app.spec.rules.map((r) => r.host).sort()).toEqual(['app.example.com', 'share.example.com']);
    const authUrl = new URL(AUTH_ANNOTATIONS['nginx.ingress.kubernetes.io/auth-url']);
    const service = find<Service>('Service', authUrl.hostname.split('.')[0]!);
    expect(service.spec.ports.map((p) => p.port)).toContain(Number(authUrl.port));
    expect(authUrl.pathname).toBe('/verify/nginx');
    expect(authUrl.hostname).toBe(`${service.metadata.name}.${kustomization.namespace}.svc.cluster.local`);
  });

  it('routes auth.example.com to Postern, without auth annotations', () => {
    const auth = find<Ingress>('Ingress', 'postern');
    expect(auth.metadata.annotations ?? {}).toEqual({});
    expect(auth.spec.rules).toHaveLength(1);
    expect(auth.spec.rules[0]!.host).toBe('auth.example.com');
    expect(auth.spec.rules[0]!.http.paths[0]!.backend.service).toEqual({ name: 'postern', port: { number: 9190 } });
  });

  it('postern.yml passes the real config loader: https portal, Redis at redis:6379, pod network trusted', () => {
    const { config, warnings } = parseConfig(parse(readFileSync(join(K8S, 'postern.yml'), 'utf8')), {}, K8S);
    expect(warnings).toEqual([]);
    expect(config.server.public_url).toBe('https://auth.example.com');
    expect(config.session.domain).toBe('example.com');
    expect(config.session.redis.url).toBe('redis://redis:6379/0');
    // ingress-nginx's controller pods have addresses of the pod network: private ranges (kubeadm and
    // flannel 10.244/16, k3s 10.42/16, Calico 192.168/16). A client on the internet is not trusted.
    const trusted = compileTrustedProxies(config.server.trusted_proxies);
    for (const podAddress of ['10.244.1.7', '10.42.0.9', '192.168.3.4', '172.17.0.5']) expect(trusted(podAddress), podAddress).toBe(true);
    expect(trusted('203.0.113.7')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Running it: two replicas, one Redis

/** A browser whose requests reach one replica; the Service may send its next request to the other. */
class ReplicaClient extends TestClient {
  override readonly jar: CookieJar;

  constructor(port: number, jar: CookieJar) {
    super(port);
    this.jar = jar;
  }
}

const USERS: Record<string, TestUser> = {
  alice: { password: 'correct horse battery staple', role: 'viewer', groups: ['family'], email: 'alice@example.com', name: 'Alice' },
};
const LOGIN = 'https://auth.example.com/login';
const APP = 'https://app.example.com/';

describe('two replicas of the built Postern run as the Deployment says, sharing one Redis', () => {
  const root = mkdtempSync(join(tmpdir(), 'postern-k8s-'));
  let redis: RedisProcess;
  const replicas: { server: ServerProcess; port: number }[] = [];
  const jar = new CookieJar();
  let a: ReplicaClient;
  let b: ReplicaClient;

  /** The pod's filesystem for the paths the Deployment mounts: one temp dir per pod. */
  function podPath(pod: string, path: string): string {
    return join(root, pod, path);
  }

  /** Lays out the Deployment's volumes for one pod: generated ConfigMap and Secrets, and emptyDirs. */
  function mountVolumes(pod: string, secrets: { sessionSecret: string; encryptionKey: string; usersFile: string }): void {
    for (const mount of postern.volumeMounts) {
      const volume = posternVolumes.find((v) => v.name === mount.name)!;
      const dir = podPath(pod, mount.mountPath);
      mkdirSync(dir, { recursive: true });
      if (volume.emptyDir) continue;
      for (const { key, path } of generatedFor(volume)) {
        const file = join(dir, key);
        if (path === 'secrets/session_secret') writeFileSync(file, `${secrets.sessionSecret}\n`, { mode: 0o440 });
        else if (path === 'secrets/encryption_key') writeFileSync(file, `${secrets.encryptionKey}\n`, { mode: 0o440 });
        else if (path === 'secrets/users.yml') copyFileSync(secrets.usersFile, file);
        // Only the service addresses change, as in every example test.
        else writeFileSync(file, substitute(readFileSync(join(K8S, path), 'utf8'), { postern: 0, app: 0, proxy: 0, redis: redis.port }));
      }
    }
  }

  /** The Deployment's env and args, their mounted paths moved into the pod's temp dir. */
  function inPod(pod: string, value: string): string {
    const mount = postern.volumeMounts.find((m) => value === m.mountPath || value.startsWith(`${m.mountPath}/`));
    return mount ? podPath(pod, value) : value;
  }

  beforeAll(async () => {
    redis = await startRedis();
    // One Secret, so one content for every pod. It matters: a session keeps a fingerprint of the
    // user's password hash, and a replica whose users file hashed the same password with another
    // salt would end the sessions the other replica started.
    const usersFile = join(root, 'users.yml');
    await writeUsersFileAtomic(usersFile, await buildUsers(USERS));
    const secrets = { sessionSecret: randomBytes(36).toString('base64url'), encryptionKey: randomBytes(36).toString('base64url'), usersFile };
    for (const pod of ['postern-0', 'postern-1']) {
      mountVolumes(pod, secrets);
      const port = await freePort();
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        // The image's ENV: the data volume.
        POSTERN_DATA_DIR: podPath(pod, '/data'),
        ...Object.fromEntries(postern.env.map((e) => [e.name, inPod(pod, e.value)])),
        POSTERN_SERVER_PORT: String(port),
        POSTERN_SERVER_ADDRESS: '127.0.0.1',
      };
      const server = await startServer(process.execPath, [CLI, ...postern.args.map((arg) => inPod(pod, arg))], { cwd: join(root, pod), env });
      replicas.push({ server, port });
    }
    a = new ReplicaClient(replicas[0]!.port, jar);
    b = new ReplicaClient(replicas[1]!.port, jar);
  }, 60_000);

  afterAll(async () => {
    for (const { server } of replicas) await server.stop();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('uses the mounted users file and writes nothing to /data but what it must (no generated users file or secret)', () => {
    for (const pod of ['postern-0', 'postern-1']) {
      expect(readdirSync(podPath(pod, '/data'))).toEqual([]);
      expect(statSync(podPath(pod, '/data')).isDirectory()).toBe(true);
    }
    for (const { server } of replicas) expect(server.output.join('\n')).not.toContain('Postern created');
  });

  it('both replicas are ready (/readyz 200: the shared Redis answers)', async () => {
    for (const client of [a, b]) {
      const reply = await client.request('http://postern.internal/readyz');
      expect(reply.status).toBe(200);
    }
  });

  it('an anonymous browser asking for the app is sent to https://auth.example.com/login with rd', async () => {
    const reply = await askVerify(a, a, 'nginx', APP);
    expect(reply.status).toBe(401);
    expect(reply.header('location')).toBe(`${LOGIN}?rd=${encodeURIComponent(APP)}`);
  });

  it('signs in with the form from one replica posted to the other (shared session secret: the CSRF token holds)', async () => {
    const page = await a.get(`${LOGIN}?rd=${encodeURIComponent(APP)}`);
    expect(page.status).toBe(200);
    const form = parseForm(page.body);
    const reply = await b.request(new URL(form.action, LOGIN).href, {
      method: 'POST',
      body: new URLSearchParams({ ...form.fields, username: 'alice', password: USERS.alice!.password }),
      headers: { accept: 'text/html' },
    });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(APP);
  });

  it('the session is valid on both replicas, with the identity headers of the user', async () => {
    for (const client of [a, b]) {
      const reply = await askVerify(client, client, 'nginx', APP);
      expect(reply.status).toBe(200);
      expect(reply.header('remote-user')).toBe('alice');
      expect(reply.header('remote-role')).toBe('viewer');
      expect(reply.header('remote-groups')).toBe('family');
      expect(reply.header('remote-email')).toBe('alice@example.com');
      expect(reply.header('remote-name')).toBe('Alice');
    }
  });

  it('applies the access rules of postern.yml: share paths pass anonymously, the rest of the share host and the admin host are 403', async () => {
    expect((await askVerify(b, b, 'nginx', 'https://share.example.com/share/abc', { anonymous: true })).status).toBe(200);
    expect((await askVerify(b, b, 'nginx', 'https://share.example.com/photos')).status).toBe(403);
    expect((await askVerify(b, b, 'nginx', 'https://admin.example.com/')).status).toBe(403);
  });

  it('signing out on one replica ends the session on the other', async () => {
    const cookie = await jar.getCookieString(APP);
    expect(cookie).not.toBe('');
    const out = await b.get('https://auth.example.com/logout');
    expect(out.status).toBe(303);
    // The browser dropped its cookie; replay the old one: the session itself must be gone from Redis.
    // The other replica may answer from its 500 ms read cache for a moment, never longer than 1 s.
    const signedOut = performance.now();
    let status = 200;
    while (status === 200 && performance.now() - signedOut < 2000) status = (await askVerify(a, a, 'nginx', APP, { headers: { cookie } })).status;
    expect(status).toBe(401);
    expect(performance.now() - signedOut).toBeLessThan(1000);
  });
});
