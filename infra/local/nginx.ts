/**
 * Runs nginx from Debian's package in front of the local stack and the integration tests, as
 * a child process with its own config, pid file, logs and temporary files in one folder. The
 * config comes from the templates in `nginx/`, which the container image renders too.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const host = '127.0.0.1';
const templateDir = fileURLToPath(new URL('../../nginx/', import.meta.url));
/** The web page's files, which nginx serves at /app/ as they are. */
const defaultWebRoot = fileURLToPath(new URL('../../web', import.meta.url));
const startTimeoutMs = 10_000;
const stopTimeoutMs = 10_000;
const outputTailLength = 4_096;
const freePortAttempts = 3;
/** Path of the binary in Debian's package; /usr/sbin is missing from many users' PATH. */
const debianBinary = '/usr/sbin/nginx';
/** The pid file of the system service that Debian's package may start on port 80. */
const systemPidFile = '/run/nginx.pid';

/** The fix to suggest in any error about a missing nginx. */
export const nginxInstallHint =
  'Install nginx (on Debian or Ubuntu: `sudo apt-get install nginx`).';

/** A TLS certificate and its private key, both PEM files. */
export interface TlsFiles {
  certificate: string;
  key: string;
}

/** Options of `startNginx`. */
export interface NginxOptions {
  /** Folder for the rendered config, pid file, logs and temporary files; created when missing. */
  dir: string;
  /** The API as `host:port`, such as `127.0.0.1:3000`. */
  apiUpstream: string;
  /** The S3 store as `host:port`. No S3 proxy is started when unset. */
  s3Upstream?: string;
  /** Largest request body in bytes, the API's MAX_BODY_BYTES. */
  maxBodyBytes: number;
  /** Port of the API proxy on 127.0.0.1. A free one is chosen when unset. */
  httpPort?: number;
  /** Port of the S3 proxy on 127.0.0.1. A free one is chosen when unset. */
  s3Port?: number;
  /** Serves HTTPS with these files too. */
  tls?: TlsFiles & { port?: number };
  /** Path of the binary; from `ensureNginx` when unset. */
  binary?: string;
  /**
   * Folder of the web page served at /app/; the repository's `web/` when unset. nginx's
   * workers run as `nobody` under root, so it and every folder above it must be readable.
   */
  webRoot?: string;
}

/** An nginx started by `startNginx`. */
export interface LocalNginx {
  /** `http://127.0.0.1:<port>`: the API through nginx. */
  url: string;
  /** `http://127.0.0.1:<port>`: the S3 store through nginx, when it has an upstream. */
  s3Endpoint: string | undefined;
  /** `https://127.0.0.1:<port>`, when TLS files were given. */
  httpsUrl: string | undefined;
  configFile: string;
  /** Sends SIGTERM (fast shutdown) and resolves once nginx has exited (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Thrown when another server listens on one of the ports nginx is to listen on. */
class PortInUseError extends Error {
  override name = 'PortInUseError';

  constructor(
    readonly port: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Finds the nginx binary and returns its path. When it is missing and this process is root on
 * Debian, installs it with apt-get first, and otherwise throws a message on how to install it.
 */
export async function ensureNginx(log: (line: string) => void = () => {}): Promise<string> {
  const found = await findNginx();
  if (found) return found;

  if (!(await canInstallWithApt())) {
    throw new Error(`nginx was not found on PATH or at ${debianBinary}. ${nginxInstallHint}`);
  }

  log('nginx was not found, so installing it with apt-get');
  const serviceWasRunning = await exists(systemPidFile);
  await runAptGet(['update'], log);
  await runAptGet(['install', '-y', 'nginx'], log);

  const installed = await findNginx();
  if (!installed) throw new Error(`nginx is still missing after apt-get. ${nginxInstallHint}`);

  // NOTE: not run here, where policy-rc.d keeps apt-get from starting services. The package
  // may start a system nginx on port 80; this stack never uses it, so it is stopped again.
  if (!serviceWasRunning && (await exists(systemPidFile))) {
    log('stopping the system nginx service that the package install started');
    await execFileAsync(installed, ['-s', 'quit']);
  }

  return installed;
}

/** Returns `tls.crt` and `tls.key` in `dir`, or undefined when either is missing. */
export async function findTlsFiles(dir: string): Promise<TlsFiles | undefined> {
  const files = { certificate: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
  const present = (await exists(files.certificate)) && (await exists(files.key));

  return present ? files : undefined;
}

/**
 * Returns `host:port` for nginx's `server` directive from an `http:` URL, or undefined for any
 * other scheme or a URL with a path.
 */
export function toUpstream(url: string): string | undefined {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' || parsed.pathname !== '/') return undefined;

  return hostAndPort(parsed.hostname, Number(parsed.port || '80'));
}

/**
 * Returns `host:port` for nginx's `server` directive, with IPv6 addresses in brackets. A
 * wildcard listen address (`0.0.0.0`, `::`) becomes the loopback address of its family.
 */
export function hostAndPort(hostname: string, port: number): string {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = { '0.0.0.0': host, '::': '::1' }[bare] ?? bare;

  return loopback.includes(':') ? `[${loopback}]:${port}` : `${loopback}:${port}`;
}

/**
 * Replaces every `${NGINX_...}` placeholder of `template` with its value, as envsubst does in
 * the container. Throws on a placeholder without a value and on a value that could break out
 * of an nginx directive.
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{(NGINX_[A-Z0-9_]+)\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`The nginx template needs a value for ${placeholder}`);
    if (!/^[^"\\${};\r\n]+$/.test(value)) {
      throw new Error(`Invalid value for ${name} in the nginx config: ${JSON.stringify(value)}`);
    }

    return value;
  });
}

/** Runs `nginx -t` on `configFile` and throws with nginx's output when the config is invalid. */
export async function testNginxConfig(binary: string, configFile: string): Promise<string> {
  try {
    const { stderr } = await execFileAsync(binary, ['-t', '-c', configFile]);
    return stderr;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`nginx -t rejected ${configFile}:\n${stderr.trim()}`);
  }
}

/** Renders the config, checks it with `nginx -t`, starts nginx and resolves once it listens. */
export async function startNginx(options: NginxOptions): Promise<LocalNginx> {
  const binary = options.binary ?? (await ensureNginx());
  const dir = path.resolve(options.dir);
  await prepareFolders(dir);

  for (let attempt = 1; ; attempt += 1) {
    const ports = await choosePorts(options);
    try {
      return await launch(binary, dir, options, ports);
    } catch (error) {
      // Another server may have taken a free port just after it was chosen; try new ones.
      const fixedPorts = [options.httpPort, options.s3Port, options.tls?.port];
      const chosenPortTaken = error instanceof PortInUseError && !fixedPorts.includes(error.port);
      if (!(chosenPortTaken && attempt < freePortAttempts)) throw error;
    }
  }
}

interface Ports {
  http: number;
  s3: number | undefined;
  https: number | undefined;
}

async function choosePorts(options: NginxOptions): Promise<Ports> {
  return {
    http: options.httpPort ?? (await findFreePort()),
    s3: options.s3Upstream === undefined ? undefined : (options.s3Port ?? (await findFreePort())),
    https: options.tls === undefined ? undefined : (options.tls.port ?? (await findFreePort())),
  };
}

/**
 * Creates the folders nginx needs. Under root, nginx's workers run as `nobody`, which must be
 * able to enter the temporary folder and every folder above it. nginx makes the folders
 * inside it and gives them to `nobody`.
 */
async function prepareFolders(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'temp'), { recursive: true, mode: 0o755 });
  await rm(path.join(dir, 'conf.d'), { recursive: true, force: true });
  await mkdir(path.join(dir, 'conf.d'), { recursive: true });
}

async function launch(
  binary: string,
  dir: string,
  options: NginxOptions,
  ports: Ports,
): Promise<LocalNginx> {
  await checkPortsFree(ports);
  const configFile = await writeConfig(dir, options, ports);
  await testNginxConfig(binary, configFile);

  const pidFile = path.join(dir, 'nginx.pid');
  await rm(pidFile, { force: true });
  const child = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  const errorLog = path.join(dir, 'error.log');
  const stopOnExit = () => child.kill('SIGTERM');
  process.on('exit', stopOnExit);

  const stop = async () => {
    process.off('exit', stopOnExit);
    await stopChild(child);
  };

  try {
    await waitUntilListening(child, pidFile, async () => `${output()}\n${await tail(errorLog)}`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url: `http://${host}:${ports.http}`,
    s3Endpoint: ports.s3 === undefined ? undefined : `http://${host}:${ports.s3}`,
    httpsUrl: ports.https === undefined ? undefined : `https://${host}:${ports.https}`,
    configFile,
    stop,
  };
}

/** Renders the templates into `dir` and returns the path of the main config file. */
async function writeConfig(dir: string, options: NginxOptions, ports: Ports): Promise<string> {
  const values: Record<string, string> = {
    NGINX_PID_FILE: path.join(dir, 'nginx.pid'),
    NGINX_ERROR_LOG: path.join(dir, 'error.log'),
    NGINX_ACCESS_LOG: path.join(dir, 'access.log'),
    NGINX_TEMP_DIR: path.join(dir, 'temp'),
    NGINX_HTTP_LISTEN: `${host}:${ports.http}`,
    NGINX_API_UPSTREAM: options.apiUpstream,
    NGINX_CLIENT_MAX_BODY_SIZE: String(options.maxBodyBytes),
    NGINX_WEB_ROOT: path.resolve(options.webRoot ?? defaultWebRoot),
  };
  const files = ['nginx.conf', 'api-proxy.conf'];

  if (options.s3Upstream !== undefined && ports.s3 !== undefined) {
    values.NGINX_S3_UPSTREAM = options.s3Upstream;
    values.NGINX_S3_LISTEN = `${host}:${ports.s3}`;
    files.push('conf.d/s3-proxy.conf');
  }
  if (options.tls !== undefined && ports.https !== undefined) {
    values.NGINX_HTTPS_LISTEN = `${host}:${ports.https}`;
    values.NGINX_TLS_CERTIFICATE = path.resolve(options.tls.certificate);
    values.NGINX_TLS_CERTIFICATE_KEY = path.resolve(options.tls.key);
    files.push('conf.d/https.conf');
  }

  for (const file of files) {
    const template = await readFile(path.join(templateDir, `${file}.template`), 'utf8');
    await writeFile(path.join(dir, file), renderTemplate(template, values));
  }

  return path.join(dir, 'nginx.conf');
}

/**
 * Waits until nginx has written its pid file, which it does after binding every listening
 * socket. A connection test would be fooled by another server on the same port.
 */
async function waitUntilListening(
  child: ChildProcess,
  pidFile: string,
  output: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });

  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`nginx could not be started: ${spawnError.message}`);

    if (child.exitCode !== null || child.signalCode !== null) {
      const text = await output();
      const message = `nginx exited (${child.exitCode ?? child.signalCode}) while starting. ` +
        `Its last output:\n${text}`;
      const taken = /bind\(\) to \S+:(\d+) failed \(98: Address already in use\)/.exec(text);
      throw taken ? new PortInUseError(Number(taken[1]), message) : new Error(message);
    }

    if ((await readPid(pidFile)) === child.pid) return;
    await delay(100);
  }

  throw new Error(`nginx timed out: it did not write ${pidFile} within 10 s. ${await output()}`);
}

/** Throws at once for a port that another server holds, where nginx retries for 2.5 s. */
async function checkPortsFree(ports: Ports): Promise<void> {
  for (const port of [ports.http, ports.s3, ports.https]) {
    if (port !== undefined && (await acceptsConnections(port))) {
      throw new PortInUseError(
        port,
        `nginx cannot listen on ${host}:${port}: another server is listening there. Stop it ` +
          'and start again.',
      );
    }
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (listening: boolean) => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    return Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return undefined;
  }
}

/** Keeps the last 4,096 characters of stdout and stderr for errors, and drains the pipes. */
function collectOutput(child: ChildProcess): () => string {
  let text = '';
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-outputTailLength);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  return () => text.trim();
}

async function tail(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).slice(-outputTailLength).trim();
  } catch {
    return '';
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;

  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);

  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the kernel for a free port on 127.0.0.1, which is released again before returning. */
async function findFreePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');

  if (address === null || typeof address !== 'object') throw new Error('No free port found');

  return address.port;
}

async function findNginx(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('sh', ['-c', 'command -v nginx']);
    if (stdout.trim()) return stdout.trim();
  } catch {
    // Not on PATH; Debian's location is checked next.
  }

  return (await exists(debianBinary)) ? debianBinary : undefined;
}

async function canInstallWithApt(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;

  return (await exists('/etc/debian_version')) && (await exists('/usr/bin/apt-get'));
}

async function runAptGet(args: string[], log: (line: string) => void): Promise<void> {
  const command = `apt-get ${args.join(' ')}`;
  log(`running ${command}`);

  try {
    await execFileAsync('env', ['DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const detail = stderr.trim().slice(-outputTailLength) || String(error);
    throw new Error(`${command} failed:\n${detail}\n${nginxInstallHint}`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
