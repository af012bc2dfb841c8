/**
 * Checks docker-compose.yml and the Dockerfile without a Docker engine: the services and their
 * settings, ports, health checks and start order, and the nginx config of the nginx image,
 * rendered by the image's own entry point and checked with `nginx -t`.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureNginx, renderTemplate } from '../../infra/local/nginx.js';
import { loadConfig, settingNames } from '../../runtime/config.js';

const execFileAsync = promisify(execFile);

interface ComposeService {
  image?: string;
  build?: { context: string; target: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  container_name?: string;
  restart?: string;
  volumes?: string[];
}

/** Long-running services; the others run once at start-up. */
const longRunning = ['nginx', 'api', 'worker', 'redis', 'minio', 'jaeger', 'prometheus'];
const oneShot = ['minio-buckets', 'corpus-import'];
const appServices = ['api', 'worker', 'corpus-import'];

let services: Record<string, ComposeService>;
let dockerfile: Map<string, string[]>;
let packageScripts: Record<string, string>;

beforeAll(async () => {
  const compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  services = compose.services;
  dockerfile = parseDockerfile(await readFile('Dockerfile', 'utf8'));
  packageScripts = JSON.parse(await readFile('package.json', 'utf8')).scripts;
});

describe('docker-compose.yml', () => {
  it('has every service of the stack', () => {
    expect(Object.keys(services).sort()).toEqual([...longRunning, ...oneShot].sort());
  });

  it.each(['api', 'worker'])('lets %s scale', (name) => {
    expect(services[name]?.container_name).toBeUndefined();
    expect(services[name]?.ports).toBeUndefined();
  });

  it.each(appServices)('sets only settings the config reads for %s', (name) => {
    const unknown = Object.keys(services[name]?.environment ?? {}).filter(
      (setting) => !settingNames.includes(setting),
    );

    expect(unknown).toEqual([]);
  });

  it.each(appServices)('gives %s a valid config', (name) => {
    const env = interpolate(services[name]?.environment ?? {});

    expect(() => loadConfig(env)).not.toThrow();
  });

  it('runs api and worker compiled, as the npm scripts do', () => {
    expect(services.api?.command?.join(' ')).toBe(packageScripts['api:compiled']);
    expect(services.worker?.command?.join(' ')).toBe(packageScripts['worker:compiled']);
  });

  it('sends traces to Jaeger over OTLP/HTTP', () => {
    for (const name of ['api', 'worker']) {
      expect(services[name]?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    }
    expect(publishedPorts('jaeger')).toContain(16686);
  });

  it('scrapes every API and worker replica', async () => {
    const config = parse(await readFile('infra/prometheus/prometheus.yml', 'utf8')) as {
      scrape_configs: Array<{ dns_sd_configs: Array<{ names: string[]; port: number }> }>;
    };
    const targets = config.scrape_configs.flatMap((job) =>
      job.dns_sd_configs.map((sd) => `${sd.names.join(',')}:${sd.port}`),
    );
    const mounted = services.prometheus?.volumes?.some((volume) =>
      volume.startsWith('./infra/prometheus/prometheus.yml:'),
    );

    expect(targets).toContain(`api:${services.api?.environment?.API_PORT}`);
    expect(targets).toContain(`worker:${services.worker?.environment?.METRICS_PORT}`);
    expect(mounted).toBe(true);
  });

  it('publishes ports on loopback only', () => {
    const published = Object.values(services).flatMap((service) => service.ports ?? []);

    expect(published.length).toBeGreaterThan(0);
    for (const mapping of published) expect(interpolateValue(mapping)).toMatch(/^127\.0\.0\.1:/);
  });

  it('publishes nginx on 80, 443 and 9000', () => {
    const containerPorts = (services.nginx?.ports ?? []).map((port) => port.split(':').at(-1));

    expect(containerPorts).toEqual(['80', '443', '9000']);
  });

  it('signs download URLs for the published S3 proxy', () => {
    const publicEndpoint = interpolateValue(services.api?.environment?.S3_PUBLIC_ENDPOINT ?? '');
    const s3Mapping = (services.nginx?.ports ?? []).find((port) => port.endsWith(':9000'));
    const [, hostPort] = interpolateValue(s3Mapping ?? '').split(':');

    expect(publicEndpoint).toBe(`http://127.0.0.1:${hostPort}`);
  });

  it.each(longRunning)('has a health check for %s', (name) => {
    expect(services[name]?.healthcheck?.test.length).toBeGreaterThan(1);
  });

  it('starts the app after Redis and MinIO are healthy', () => {
    for (const name of ['api', 'worker']) {
      const dependencies = services[name]?.depends_on ?? {};
      expect(dependencies.redis?.condition, name).toBe('service_healthy');
      expect(dependencies.minio?.condition, name).toBe('service_healthy');
      expect(dependencies['minio-buckets']?.condition, name).toBe('service_completed_successfully');
    }
  });

  it('starts nginx after the API is healthy', () => {
    expect(services.nginx?.depends_on?.api?.condition).toBe('service_healthy');
    expect(services.nginx?.depends_on?.minio?.condition).toBe('service_healthy');
  });

  it('runs Redis append-only without eviction', () => {
    const command = services.redis?.command?.join(' ') ?? '';

    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
  });

  it('creates the buckets the services use', () => {
    const env = services.api?.environment ?? {};
    const command = services['minio-buckets']?.command ?? [];

    expect(command).toContain(`minio/${env.SOURCE_BUCKET}`);
    expect(command).toContain(`minio/${env.EXPORT_BUCKET}`);
    expect(services['corpus-import']?.depends_on?.['minio-buckets']?.condition).toBe(
      'service_completed_successfully',
    );
  });

  it('imports the corpus with the app image', () => {
    expect(services['corpus-import']?.image).toBe(services.api?.image);
    expect(services['corpus-import']?.command?.at(-1)).toBe('dist/scripts/import-corpus.js');
  });
});

describe('Dockerfile', () => {
  it('builds the app and nginx targets', () => {
    expect([...dockerfile.keys()]).toEqual(
      expect.arrayContaining(['deps', 'build', 'app', 'nginx']),
    );
    expect(services.api?.build?.target).toBe('app');
    expect(services.nginx?.build?.target).toBe('nginx');
  });

  it('runs the app as a non-root user', () => {
    const users = instructions('app', 'USER');

    expect(users).toEqual(['node']);
  });

  it.each(['app', 'nginx'])('has a health check in %s', (stage) => {
    expect(instructions(stage, 'HEALTHCHECK')).toHaveLength(1);
  });

  it('starts the compiled API by default', () => {
    const [command] = instructions('app', 'CMD');

    expect((JSON.parse(command ?? '[]') as string[]).join(' ')).toBe(packageScripts['api:compiled']);
  });

  it('compiles dist in the build stage', () => {
    const runs = instructions('build', 'RUN');
    const copies = instructions('app', 'COPY');

    expect(runs).toContain('npm run build');
    expect(copies).toContain('--from=build /app/dist ./dist');
  });

  it('copies no TypeScript sources into the app', () => {
    const copies = instructions('app', 'COPY');

    for (const folder of ['functions', 'runtime', 'infra', 'scripts']) {
      expect(copies.filter((copy) => copy.startsWith(`${folder} `)), folder).toEqual([]);
    }
  });

  it('copies every nginx template', async () => {
    const copies = instructions('nginx', 'COPY').join('\n');
    const templates = await readdir('nginx', { recursive: true });

    for (const file of templates.filter((name) => name.endsWith('.template'))) {
      const copied = copies.includes(`nginx/${file}`) || copies.includes(`nginx/${path.dirname(file)}/`);
      expect(copied, file).toBe(true);
    }
  });
});

describe('nginx image config', () => {
  let dir: string;
  let imageEnv: Record<string, string>;
  let localEnv: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nginx-image-test-'));
    await chmod(dir, 0o755);
    await execFileAsync('sh', ['scripts/make-cert.sh', path.join(dir, 'certs')]);
    imageEnv = envInstructions('nginx');

    // The image's settings, with every address and path that only exists in a container
    // replaced: loopback instead of the compose service names, and a temporary folder.
    localEnv = {
      ...imageEnv,
      NGINX_PID_FILE: path.join(dir, 'nginx.pid'),
      NGINX_TEMP_DIR: path.join(dir, 'temp'),
      NGINX_HTTP_LISTEN: '127.0.0.1:18080',
      NGINX_HTTPS_LISTEN: '127.0.0.1:18443',
      NGINX_S3_LISTEN: '127.0.0.1:19000',
      NGINX_API_UPSTREAM: '127.0.0.1:3000',
      NGINX_S3_UPSTREAM: '127.0.0.1:9000',
      NGINX_TLS_CERTIFICATE: path.join(dir, 'certs', 'tls.crt'),
      NGINX_TLS_CERTIFICATE_KEY: path.join(dir, 'certs', 'tls.key'),
    };
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sets every placeholder of the templates', async () => {
    const placeholders = await templatePlaceholders();
    const missing = placeholders.filter((name) => imageEnv[name] === undefined);

    expect(missing).toEqual([]);
  });

  it('passes nginx -t with HTTPS on', async () => {
    const confDir = path.join(dir, 'with-tls');
    const output = await runEntryPoint(confDir, localEnv);

    expect(output).toContain('test is successful');
    expect((await readdir(path.join(confDir, 'conf.d'))).sort()).toEqual([
      'https.conf',
      's3-proxy.conf',
    ]);
  });

  it('passes nginx -t with HTTPS off', async () => {
    const confDir = path.join(dir, 'without-tls');
    const env = { ...localEnv, NGINX_TLS_CERTIFICATE: path.join(dir, 'missing.crt') };
    const output = await runEntryPoint(confDir, env);

    expect(output).toContain('HTTPS is off');
    expect(output).toContain('test is successful');
    expect(await readdir(path.join(confDir, 'conf.d'))).toEqual(['s3-proxy.conf']);
  });

  it('renders as infra/local/nginx.ts renders', async () => {
    const confDir = path.join(dir, 'compare');
    await runEntryPoint(confDir, localEnv);

    for (const file of ['nginx.conf', 'api-proxy.conf', 'conf.d/s3-proxy.conf', 'conf.d/https.conf']) {
      const template = await readFile(path.join('nginx', `${file}.template`), 'utf8');
      const rendered = await readFile(path.join(confDir, file), 'utf8');
      expect(rendered, file).toBe(renderTemplate(template, localEnv));
    }
  });

  it('fails without an upstream', async () => {
    const env = { ...localEnv, NGINX_API_UPSTREAM: '' };

    await expect(runEntryPoint(path.join(dir, 'failing'), env)).rejects.toThrow(
      /NGINX_API_UPSTREAM is not set/,
    );
  });

  /**
   * Runs nginx/docker-entrypoint.sh with `nginx -t` as its command and returns its output.
   * Its stdout and stderr are files, as a container's are pipes: nginx opens /dev/stdout for
   * the access log, which fails on the sockets that Node gives a child process.
   */
  async function runEntryPoint(confDir: string, env: Record<string, string>): Promise<string> {
    const binary = await ensureNginx();
    const configFile = path.join(confDir, 'nginx.conf');
    const outputFile = `${confDir}.output`;
    const output = await open(outputFile, 'w');
    const child = spawn('sh', ['nginx/docker-entrypoint.sh', binary, '-t', '-c', configFile], {
      env: {
        PATH: process.env.PATH,
        ...env,
        NGINX_TEMPLATE_DIR: path.resolve('nginx'),
        NGINX_CONF_DIR: confDir,
      },
      stdio: ['ignore', output.fd, output.fd],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    await output.close();

    const text = await readFile(outputFile, 'utf8');
    if (code !== 0) throw new Error(`The entry point exited with ${code}:\n${text}`);

    return text;
  }
});

/** Splits the Dockerfile into its named stages, one instruction per entry (continuations joined). */
function parseDockerfile(text: string): Map<string, string[]> {
  const stages = new Map<string, string[]>();
  const joined = text.replace(/\\\n/g, ' ');
  let current: string[] = [];

  for (const line of joined.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;

    const stage = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(trimmed);
    if (stage) {
      current = [];
      stages.set(stage[1]!, current);
    }
    current.push(trimmed);
  }

  return stages;
}

/** Returns the arguments of every `keyword` instruction of `stage`. */
function instructions(stage: string, keyword: string): string[] {
  const lines = dockerfile.get(stage) ?? [];

  return lines
    .filter((line) => line.startsWith(`${keyword} `))
    .map((line) => line.slice(keyword.length + 1).trim());
}

/** Returns the `ENV name=value` pairs of `stage`. */
function envInstructions(stage: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of instructions(stage, 'ENV')) {
    for (const pair of line.split(/\s+/)) {
      const [name, ...value] = pair.split('=');
      if (name) env[name] = value.join('=');
    }
  }

  return env;
}

async function templatePlaceholders(): Promise<string[]> {
  const files = (await readdir('nginx', { recursive: true })).filter((f) => f.endsWith('.template'));
  const names = new Set<string>();

  for (const file of files) {
    const text = await readFile(path.join('nginx', file), 'utf8');
    for (const match of text.matchAll(/\$\{(NGINX_[A-Z0-9_]+)\}/g)) names.add(match[1]!);
  }

  return [...names].sort();
}

function publishedPorts(name: string): number[] {
  return (services[name]?.ports ?? []).map((mapping) => Number(interpolateValue(mapping).split(':')[1]));
}

/** Applies compose's `${NAME:-default}` interpolation as with none of the variables set. */
function interpolateValue(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}

function interpolate(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, interpolateValue(value)]));
}
