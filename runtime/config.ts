/**
 * The one module that reads the environment. `loadConfig` parses a plain record once at
 * start-up into a frozen config, and throws a message naming every bad setting.
 */
import { isIP } from 'node:net';

import { type } from 'arktype';

/** Parses a whole number within `min`..`max` from its decimal string. */
function integer(min: number, max: number) {
  return type('string.integer.parse').to(type.number.atLeast(min).atMost(max));
}

const day = 24 * 3_600;

/** The values of `OTEL_TRACES_SAMPLER` that the OpenTelemetry JavaScript SDK implements. */
const samplerNames = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

const environment = type({
  'API_HOST?': 'string > 0',
  'API_PORT?': integer(0, 65_535),
  'API_URL?': 'string.url',
  'REDIS_URL?': 'string.url',
  'REDIS_PREFIX?': /^[A-Za-z0-9_{}-]+$/,
  'S3_ENDPOINT?': 'string.url',
  'S3_PUBLIC_ENDPOINT?': 'string.url',
  'S3_REGION?': 'string > 0',
  'S3_ACCESS_KEY_ID?': 'string > 0',
  'S3_SECRET_ACCESS_KEY?': 'string > 0',
  'S3_FORCE_PATH_STYLE?': "'true' | 'false'",
  'SOURCE_BUCKET?': 'string > 2',
  'SOURCE_KEY_TEMPLATE?': /\{file_id\}/,
  'EXPORT_BUCKET?': 'string > 2',
  'JOB_ATTEMPTS?': integer(1, 20),
  'JOB_BACKOFF_MS?': integer(0, 3_600_000),
  'WORKER_CONCURRENCY?': integer(1, 1_000),
  'JOB_LOCK_MS?': integer(1_000, 600_000),
  'WORKER_SHUTDOWN_TIMEOUT_MS?': integer(0, 3_600_000),
  'API_SHUTDOWN_TIMEOUT_MS?': integer(0, 600_000),
  // Two parts of S3's smallest size, 5 MiB, is the least a streaming upload can work with.
  'UPLOAD_MEMORY_BUDGET_MIB?': integer(10, 65_536),
  // SigV4 presigned URLs live at most 7 days.
  'DOWNLOAD_URL_TTL_SECONDS?': integer(1, 7 * day),
  'RECORD_RETENTION_SECONDS?': integer(60, 365 * day),
  'ARTIFACT_RETENTION_SECONDS?': integer(60, 365 * day),
  'MAX_BODY_BYTES?': integer(1_024, 64 * 1_048_576),
  'SSE_HEARTBEAT_MS?': integer(1_000, 3_600_000),
  'DOWNLOAD_START_WAIT_MS?': integer(0, 30_000),
  'TRUSTED_PROXIES?': 'string',
  'AUTH_ENABLED?': "'true' | 'false'",
  // HMAC key of read tokens; every API process must have the same one.
  'READ_TOKEN_SECRET?': 'string >= 32',
  'READ_TOKEN_TTL_SECONDS?': integer(60, 7 * day),
  // Owners whose API keys open the queue dashboard, comma-separated.
  'ADMIN_OWNERS?': /^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$/,
  'MAX_FILES_PER_EXPORT?': integer(1, 1_000),
  'MAX_ACTIVE_EXPORTS?': integer(1, 10_000_000),
  'MAX_EXPORT_MIB?': integer(1, 50 * 1_048_576),
  'RATE_LIMIT_WINDOW_SECONDS?': integer(1, day),
  'RATE_LIMIT_CREATE?': integer(1, 1_000_000_000),
  'RATE_LIMIT_READ?': integer(1, 1_000_000_000),
  'LOG_LEVEL?': "'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'",
  'OTEL_EXPORTER_OTLP_ENDPOINT?': 'string.url',
  'OTEL_SERVICE_NAME?': 'string > 0',
  'OTEL_TRACES_SAMPLER?': type.enumerated(...samplerNames),
  // The share of traces a ratio sampler keeps, from 0 to 1.
  'OTEL_TRACES_SAMPLER_ARG?': type('string.numeric.parse').to('0 <= number <= 1'),
  'METRICS_PORT?': integer(0, 65_535),
  // Hosts callback URLs may name: exact names, or *.example.com for subdomains.
  'WEBHOOK_ALLOWED_HOSTS?': 'string',
  'WEBHOOK_ALLOW_PRIVATE_ADDRESSES?': "'true' | 'false'",
  // Standard Webhooks secret: "whsec_" and base64; receivers verify signatures with it.
  'WEBHOOK_SECRET?': /^whsec_[A-Za-z0-9+/=]{24,}$/,
  'WEBHOOK_ATTEMPTS?': integer(1, 20),
  'SQS_QUEUE_URL?': 'string.url',
  'LAMBDA_TIMEOUT_SECONDS?': integer(1, 900),
  'SQS_VISIBILITY_TIMEOUT_SECONDS?': integer(0, 43_200),
  'SQS_MAX_RECEIVE_COUNT?': integer(1, 1_000),
  'LOCAL_STACK_DIR?': 'string > 0',
  'LOCAL_NGINX_PORT?': integer(1, 65_535),
  'LOCAL_NGINX_TLS_PORT?': integer(1, 65_535),
  'CORPUS_DIR?': 'string > 0',
});

/** Every environment variable the service reads, for deployment files and their tests. */
export const settingNames: readonly string[] = environment.props.map((prop) => String(prop.key));

/** The parsed settings of every process: API, worker, local stack and CLI. */
export interface Config {
  api: {
    host: string;
    port: number;
    url: string;
    maxBodyBytes: number;
    sseHeartbeatMs: number;
    /** How long `POST /v1/download/start` waits for its export before it responds with 202. */
    downloadStartWaitMs: number;
    /** How long a stopping API waits for open requests before it closes them. */
    shutdownTimeoutMs: number;
    /** Addresses and CIDR ranges whose X-Forwarded-For is believed. */
    trustedProxies: string[];
    /** Requests per client and window, for creating exports and for reading them. */
    rateLimit: { windowSeconds: number; create: number; read: number };
  };
  /** Unset when `npm start` should run its own redis-server. */
  redisUrl: string | undefined;
  redisPrefix: string;
  s3: S3Settings;
  sourceBucket: string;
  /** The source object key of a file id; `{file_id}` is replaced by the id. */
  sourceKeyTemplate: string;
  exportBucket: string;
  auth: {
    enabled: boolean;
    /** Unset only when authentication is off; tokens are then signed with a random key. */
    readTokenSecret: string | undefined;
    readTokenTtlSeconds: number;
    adminOwners: string[];
  };
  /** Per-owner limits: files and source bytes per export, and exports not yet ended. */
  limits: { maxFilesPerExport: number; maxActiveExports: number; maxExportBytes: number };
  jobs: {
    attempts: number;
    backoffMs: number;
    concurrency: number;
    /** A crashed worker's job is taken by another after this long. */
    lockMs: number;
    /** How long a stopping worker lets its jobs run before it hands them back. */
    shutdownTimeoutMs: number;
  };
  uploadMemoryBudgetBytes: number;
  downloadUrlTtlSeconds: number;
  recordRetentionSeconds: number;
  artifactRetentionSeconds: number;
  logLevel: string;
  telemetry: TelemetrySettings;
  /** Completion webhooks. */
  webhooks: {
    allowedHosts: string[];
    allowPrivateAddresses: boolean;
    secret: string | undefined;
    attempts: number;
  };
  /** The Lambda deployment: its job queue and the limits the SQS consumer checks. */
  lambda: {
    queueUrl: string | undefined;
    timeoutSeconds: number;
    visibilityTimeoutSeconds: number;
    maxReceiveCount: number;
  };
  localStackDir: string;
  /** Where `npm start` runs nginx: HTTP, and HTTPS when a certificate is in place. */
  localNginx: { httpPort: number; tlsPort: number };
  corpusDir: string | undefined;
}

/** The trace destination and the worker's metrics port. */
export interface TelemetrySettings {
  /** OTLP/HTTP base address, such as Jaeger's `http://jaeger:4318`; unset exports nothing. */
  otlpEndpoint: string | undefined;
  /** Unset means the process picks its own (`export-api`, `export-worker`, `export-local`). */
  serviceName: string | undefined;
  /** Port of the worker's `/metrics` and `/health` listener; 0 turns it off. */
  metricsPort: number;
  sampler: SamplerSettings;
}

/** Trace sampler settings, named as in the OpenTelemetry SDK configuration. */
export interface SamplerSettings {
  name: (typeof samplerNames)[number];
  /** The share of traces that `traceidratio` and `parentbased_traceidratio` keep, 0 to 1. */
  ratio: number;
}

/** How to reach the S3-compatible store; `endpoint` unset means AWS itself. */
export interface S3Settings {
  endpoint: string | undefined;
  /** The address browsers reach; presigned URLs are signed for it. */
  publicEndpoint: string | undefined;
  region: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
}

/** Parses `env` (usually `process.env`) and throws one line per bad setting. */
export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const parsed = environment(definedOnly(env));
  if (parsed instanceof type.errors) {
    throw new Error(`Invalid configuration:\n${parsed.summary}`);
  }

  const config = buildConfig(parsed);
  checkRelations(config, parsed);

  return deepFreeze(config);
}

function buildConfig(settings: typeof environment.infer): Config {
  const host = settings.API_HOST ?? '127.0.0.1';
  const port = settings.API_PORT ?? 3000;
  const endpoint = settings.S3_ENDPOINT;

  return {
    api: {
      host,
      port,
      url: settings.API_URL ?? `http://${host}:${port}`,
      maxBodyBytes: settings.MAX_BODY_BYTES ?? 64 * 1024,
      sseHeartbeatMs: settings.SSE_HEARTBEAT_MS ?? 15_000,
      downloadStartWaitMs: settings.DOWNLOAD_START_WAIT_MS ?? 5_000,
      shutdownTimeoutMs: settings.API_SHUTDOWN_TIMEOUT_MS ?? 10_000,
      trustedProxies: (settings.TRUSTED_PROXIES ?? '127.0.0.1,::1')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ''),
      rateLimit: {
        windowSeconds: settings.RATE_LIMIT_WINDOW_SECONDS ?? 60,
        create: settings.RATE_LIMIT_CREATE ?? 60,
        read: settings.RATE_LIMIT_READ ?? 1_200,
      },
    },
    redisUrl: settings.REDIS_URL,
    redisPrefix: settings.REDIS_PREFIX ?? 'export',
    s3: {
      endpoint,
      publicEndpoint: settings.S3_PUBLIC_ENDPOINT ?? endpoint,
      region: settings.S3_REGION ?? 'us-east-1',
      accessKeyId: settings.S3_ACCESS_KEY_ID,
      secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
      forcePathStyle: (settings.S3_FORCE_PATH_STYLE ?? String(endpoint !== undefined)) === 'true',
    },
    sourceBucket: settings.SOURCE_BUCKET ?? 'downloads',
    sourceKeyTemplate: settings.SOURCE_KEY_TEMPLATE ?? 'downloads/{file_id}.zip',
    exportBucket: settings.EXPORT_BUCKET ?? 'exports',
    auth: {
      enabled: settings.AUTH_ENABLED === 'true',
      readTokenSecret: settings.READ_TOKEN_SECRET,
      readTokenTtlSeconds: settings.READ_TOKEN_TTL_SECONDS ?? 3_600,
      adminOwners: (settings.ADMIN_OWNERS ?? 'admin').split(','),
    },
    limits: {
      maxFilesPerExport: settings.MAX_FILES_PER_EXPORT ?? 1_000,
      maxActiveExports: settings.MAX_ACTIVE_EXPORTS ?? 20,
      maxExportBytes: (settings.MAX_EXPORT_MIB ?? 10 * 1_024) * 1_048_576,
    },
    jobs: {
      attempts: settings.JOB_ATTEMPTS ?? 3,
      backoffMs: settings.JOB_BACKOFF_MS ?? 2_000,
      concurrency: settings.WORKER_CONCURRENCY ?? 2,
      lockMs: settings.JOB_LOCK_MS ?? 30_000,
      shutdownTimeoutMs: settings.WORKER_SHUTDOWN_TIMEOUT_MS ?? 25_000,
    },
    uploadMemoryBudgetBytes: (settings.UPLOAD_MEMORY_BUDGET_MIB ?? 64) * 1024 * 1024,
    downloadUrlTtlSeconds: settings.DOWNLOAD_URL_TTL_SECONDS ?? 3_600,
    recordRetentionSeconds: settings.RECORD_RETENTION_SECONDS ?? 7 * 24 * 3_600,
    artifactRetentionSeconds: settings.ARTIFACT_RETENTION_SECONDS ?? 24 * 3_600,
    logLevel: settings.LOG_LEVEL ?? 'info',
    telemetry: {
      otlpEndpoint: settings.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: settings.OTEL_SERVICE_NAME,
      metricsPort: settings.METRICS_PORT ?? 9464,
      // The specification's default samples every trace that does not arrive unsampled.
      sampler: {
        name: settings.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
        ratio: settings.OTEL_TRACES_SAMPLER_ARG ?? 1,
      },
    },
    webhooks: {
      allowedHosts: (settings.WEBHOOK_ALLOWED_HOSTS ?? '')
        .split(',')
        .map((host) => host.trim())
        .filter((host) => host !== ''),
      allowPrivateAddresses: settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES === 'true',
      secret: settings.WEBHOOK_SECRET,
      attempts: settings.WEBHOOK_ATTEMPTS ?? 6,
    },
    lambda: {
      queueUrl: settings.SQS_QUEUE_URL,
      timeoutSeconds: settings.LAMBDA_TIMEOUT_SECONDS ?? 900,
      visibilityTimeoutSeconds: settings.SQS_VISIBILITY_TIMEOUT_SECONDS ?? 5_400,
      maxReceiveCount: settings.SQS_MAX_RECEIVE_COUNT ?? 3,
    },
    localStackDir: settings.LOCAL_STACK_DIR ?? '.local',
    localNginx: {
      httpPort: settings.LOCAL_NGINX_PORT ?? 8080,
      tlsPort: settings.LOCAL_NGINX_TLS_PORT ?? 8443,
    },
    corpusDir: settings.CORPUS_DIR,
  };
}

function checkRelations(config: Config, settings: typeof environment.infer): void {
  const problems: string[] = [];
  const { s3 } = config;

  for (const entry of config.api.trustedProxies) {
    if (!isAddressOrRange(entry)) {
      problems.push(`TRUSTED_PROXIES has "${entry}", which is not an IP address or CIDR range`);
    }
  }
  if (config.artifactRetentionSeconds >= config.recordRetentionSeconds) {
    problems.push('ARTIFACT_RETENTION_SECONDS must be shorter than RECORD_RETENTION_SECONDS');
  }
  if (config.webhooks.allowedHosts.length > 0 && config.webhooks.secret === undefined) {
    problems.push('WEBHOOK_SECRET must be set when WEBHOOK_ALLOWED_HOSTS names hosts');
  }
  if (config.auth.enabled && config.auth.readTokenSecret === undefined) {
    problems.push('READ_TOKEN_SECRET must be set when AUTH_ENABLED is true (32 characters or more)');
  }
  if ((s3.accessKeyId === undefined) !== (s3.secretAccessKey === undefined)) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together');
  }
  // Other samplers ignore the ratio, so a ratio set alone would silently keep every trace.
  const ratioSampler = config.telemetry.sampler.name.endsWith('traceidratio');
  if (settings.OTEL_TRACES_SAMPLER_ARG !== undefined && !ratioSampler) {
    problems.push(
      'OTEL_TRACES_SAMPLER_ARG is set, so OTEL_TRACES_SAMPLER must be traceidratio or ' +
        'parentbased_traceidratio',
    );
  }

  if (problems.length > 0) throw new Error(`Invalid configuration:\n${problems.join('\n')}`);
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') deepFreeze(child);
  }

  return Object.freeze(value);
}

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix] = entry.split('/');
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;

  const bits = Number(prefix);
  return Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') result[name] = value;
  }

  return result;
}
