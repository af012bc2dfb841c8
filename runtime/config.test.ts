import { describe, expect, it } from 'vitest';

import { loadConfig } from './config.js';

/** Returns the message `loadConfig(env)` throws, or fails the test when it accepts `env`. */
function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as Error).message;
  }

  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  const config = loadConfig({});

  it('listens on loopback port 3000', () => {
    expect(config.api.host).toBe('127.0.0.1');
    expect(config.api.port).toBe(3000);
    expect(config.api.url).toBe('http://127.0.0.1:3000');
  });

  it('limits bodies to 64 KiB', () => {
    expect(config.api.maxBodyBytes).toBe(65_536);
  });

  it('sends heartbeats every 15 s', () => {
    expect(config.api.sseHeartbeatMs).toBe(15_000);
  });

  it('leaves Redis to the local stack', () => {
    expect(config.redisUrl).toBeUndefined();
    expect(config.redisPrefix).toBe('export');
  });

  it('uses AWS S3 without credentials', () => {
    expect(config.s3.endpoint).toBeUndefined();
    expect(config.s3.region).toBe('us-east-1');
    expect(config.s3.accessKeyId).toBeUndefined();
    expect(config.s3.forcePathStyle).toBe(false);
  });

  it('names the buckets and key template', () => {
    expect(config.sourceBucket).toBe('downloads');
    expect(config.exportBucket).toBe('exports');
    expect(config.sourceKeyTemplate).toBe('downloads/{file_id}.zip');
  });

  it('runs 3 attempts, 2 at once', () => {
    expect(config.jobs.attempts).toBe(3);
    expect(config.jobs.backoffMs).toBe(2_000);
    expect(config.jobs.concurrency).toBe(2);
  });

  it('sets budget and retention periods', () => {
    expect(config.uploadMemoryBudgetBytes).toBe(64 * 1024 * 1024);
    expect(config.downloadUrlTtlSeconds).toBe(3_600);
    expect(config.artifactRetentionSeconds).toBe(86_400);
    expect(config.recordRetentionSeconds).toBe(604_800);
  });

  it('samples every trace', () => {
    expect(config.telemetry.sampler).toEqual({ name: 'parentbased_always_on', ratio: 1 });
  });

  it('treats empty values as unset', () => {
    const fromEmpty = loadConfig({ API_PORT: '', JOB_ATTEMPTS: '', S3_ENDPOINT: undefined });

    expect(fromEmpty).toEqual(config);
  });
});

describe('loadConfig settings', () => {
  it('parses integers', () => {
    const config = loadConfig({ API_PORT: '8080', UPLOAD_MEMORY_BUDGET_MIB: '128' });

    expect(config.api.port).toBe(8080);
    expect(config.uploadMemoryBudgetBytes).toBe(128 * 1024 * 1024);
  });

  it('builds the API URL from host and port', () => {
    const config = loadConfig({ API_HOST: '::1', API_PORT: '4000' });

    expect(config.api.url).toBe('http://::1:4000');
  });

  it('uses path style with an endpoint', () => {
    const config = loadConfig({ S3_ENDPOINT: 'http://127.0.0.1:9000' });

    expect(config.s3.forcePathStyle).toBe(true);
    expect(config.s3.publicEndpoint).toBe('http://127.0.0.1:9000');
  });

  it('keeps a separate public endpoint', () => {
    const config = loadConfig({
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_PUBLIC_ENDPOINT: 'http://localhost:9000',
      S3_FORCE_PATH_STYLE: 'false',
    });

    expect(config.s3.publicEndpoint).toBe('http://localhost:9000');
    expect(config.s3.forcePathStyle).toBe(false);
  });

  it('reads the trace sampler and ratio', () => {
    const config = loadConfig({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });

    expect(config.telemetry.sampler.name).toBe('parentbased_traceidratio');
    expect(config.telemetry.sampler.ratio).toBe(0.25);
  });

  it('defaults the sampler ratio to 1', () => {
    const config = loadConfig({ OTEL_TRACES_SAMPLER: 'traceidratio' });

    expect(config.telemetry.sampler.ratio).toBe(1);
  });
});

describe('loadConfig errors', () => {
  const invalid: Array<[string, Record<string, string>]> = [
    ['API_PORT', { API_PORT: 'abc' }],
    ['API_URL', { API_URL: 'not a url' }],
    ['REDIS_URL', { REDIS_URL: 'localhost' }],
    ['REDIS_PREFIX', { REDIS_PREFIX: 'a b' }],
    ['SOURCE_KEY_TEMPLATE', { SOURCE_KEY_TEMPLATE: 'downloads/file.zip' }],
    ['SOURCE_BUCKET', { SOURCE_BUCKET: 'ab' }],
    ['S3_FORCE_PATH_STYLE', { S3_FORCE_PATH_STYLE: 'yes' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['JOB_ATTEMPTS', { JOB_ATTEMPTS: '0' }],
    ['JOB_ATTEMPTS', { JOB_ATTEMPTS: '21' }],
    ['JOB_ATTEMPTS', { JOB_ATTEMPTS: '2.5' }],
    ['WORKER_CONCURRENCY', { WORKER_CONCURRENCY: '0' }],
    ['UPLOAD_MEMORY_BUDGET_MIB', { UPLOAD_MEMORY_BUDGET_MIB: '9' }],
    ['DOWNLOAD_URL_TTL_SECONDS', { DOWNLOAD_URL_TTL_SECONDS: '604801' }],
    ['ARTIFACT_RETENTION_SECONDS', { ARTIFACT_RETENTION_SECONDS: '604800' }],
    [
      'ARTIFACT_RETENTION_SECONDS',
      { ARTIFACT_RETENTION_SECONDS: '200', RECORD_RETENTION_SECONDS: '100' },
    ],
    ['S3_SECRET_ACCESS_KEY', { S3_ACCESS_KEY_ID: 'local-key' }],
    ['S3_ACCESS_KEY_ID', { S3_SECRET_ACCESS_KEY: 'local-secret' }],
    ['OTEL_TRACES_SAMPLER', { OTEL_TRACES_SAMPLER: 'jaeger_remote' }],
    [
      'OTEL_TRACES_SAMPLER_ARG',
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' },
    ],
    [
      'OTEL_TRACES_SAMPLER_ARG',
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' },
    ],
  ];

  it.each(invalid)('names %s', (setting, env) => {
    expect(configError(env)).toContain(setting);
  });

  it('names the invalid value', () => {
    expect(configError({ API_PORT: 'abc' })).toContain('abc');
  });

  it('names two schema errors', () => {
    const message = configError({ API_PORT: 'abc', LOG_LEVEL: 'verbose' });

    expect(message).toContain('API_PORT');
    expect(message).toContain('LOG_LEVEL');
  });

  it('names two range errors', () => {
    const message = configError({ JOB_ATTEMPTS: '0', WORKER_CONCURRENCY: '0' });

    expect(message).toContain('JOB_ATTEMPTS');
    expect(message).toContain('WORKER_CONCURRENCY');
  });

  it('names schema and range errors together', () => {
    const message = configError({ API_PORT: 'abc', JOB_ATTEMPTS: '0' });

    expect(message).toContain('JOB_ATTEMPTS');
  });

  it('rejects a port above 65535', () => {
    expect(configError({ API_PORT: '70000' })).toContain('API_PORT');
  });

  it('rejects a zero heartbeat', () => {
    expect(configError({ SSE_HEARTBEAT_MS: '0' })).toContain('SSE_HEARTBEAT_MS');
  });

  it.each([
    ['no sampler', {}],
    ['always_on', { OTEL_TRACES_SAMPLER: 'always_on' }],
  ])('rejects a sampler ratio with %s', (_case, sampler) => {
    const message = configError({ ...sampler, OTEL_TRACES_SAMPLER_ARG: '0.1' });

    expect(message).toContain('OTEL_TRACES_SAMPLER must be traceidratio');
  });

  it('rejects a zero body limit', () => {
    expect(configError({ MAX_BODY_BYTES: '0' })).toContain('MAX_BODY_BYTES');
  });
});

describe('loadConfig result', () => {
  it('is frozen', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it('freezes nested sections', () => {
    const config = loadConfig({});

    expect(Object.isFrozen(config.jobs)).toBe(true);
  });
});
