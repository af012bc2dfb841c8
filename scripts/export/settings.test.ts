import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../runtime/config.js';
import {
  defaultApiUrl,
  resolveApiUrl,
  resolveSourceLocation,
  sourceKey,
  type StackSettings,
} from './settings.js';

const stack: StackSettings = {
  apiUrl: 'http://127.0.0.1:4100',
  s3: {
    endpoint: 'http://127.0.0.1:4200',
    accessKeyId: 'stack-key',
    secretAccessKey: 'stack-secret',
  },
  sourceBucket: 'stack-downloads',
  sourceKeyTemplate: 'stack/{file_id}.bin',
};

const defaults = loadConfig({});
const withS3 = loadConfig({
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_ACCESS_KEY_ID: 'config-key',
  S3_SECRET_ACCESS_KEY: 'config-secret',
  SOURCE_BUCKET: 'config-downloads',
});

describe('resolveApiUrl', () => {
  it('prefers the --api flag', () => {
    const config = loadConfig({ API_URL: 'http://127.0.0.1:5000' });

    expect(resolveApiUrl({ flag: 'http://127.0.0.1:6000', config, defaults, stack })).toBe(
      'http://127.0.0.1:6000',
    );
  });

  it('uses API_URL over the stack file', () => {
    const config = loadConfig({ API_URL: 'http://127.0.0.1:5000' });

    const url = resolveApiUrl({ flag: undefined, config, defaults, stack });

    expect(url).toBe('http://127.0.0.1:5000');
  });

  it('uses API_PORT over the stack file', () => {
    const config = loadConfig({ API_PORT: '5001' });

    const url = resolveApiUrl({ flag: undefined, config, defaults, stack });

    expect(url).toBe('http://127.0.0.1:5001');
  });

  it('uses the stack file when S3_ENDPOINT is unset', () => {
    const url = resolveApiUrl({ flag: undefined, config: defaults, defaults, stack });

    expect(url).toBe(stack.apiUrl);
  });

  it('ignores the stack file when S3_ENDPOINT is set', () => {
    const url = resolveApiUrl({ flag: undefined, config: withS3, defaults, stack });

    expect(url).toBe(defaultApiUrl);
  });

  it('falls back to the loopback default', () => {
    const url = resolveApiUrl({ flag: undefined, config: defaults, defaults, stack: null });

    expect(url).toBe('http://127.0.0.1:3000');
  });
});

describe('resolveSourceLocation', () => {
  it('uses the config when S3_ENDPOINT is set', () => {
    const location = resolveSourceLocation(withS3, stack);

    expect(location?.origin).toBe('config');
    expect(location?.s3.endpoint).toBe('http://127.0.0.1:9000');
    expect(location?.s3.accessKeyId).toBe('config-key');
    expect(location?.bucket).toBe('config-downloads');
    expect(location?.keyTemplate).toBe('downloads/{file_id}.zip');
  });

  it('uses the stack file otherwise', () => {
    const location = resolveSourceLocation(defaults, stack);

    expect(location?.origin).toBe('stack file');
    expect(location?.s3.endpoint).toBe('http://127.0.0.1:4200');
    expect(location?.s3.secretAccessKey).toBe('stack-secret');
    expect(location?.s3.forcePathStyle).toBe(true);
    expect(location?.bucket).toBe('stack-downloads');
    expect(location?.keyTemplate).toBe('stack/{file_id}.bin');
  });

  it('returns null without either', () => {
    expect(resolveSourceLocation(defaults, null)).toBeNull();
  });
});

describe('sourceKey', () => {
  it('puts the id into the template', () => {
    expect(sourceKey('downloads/{file_id}.zip', 70007)).toBe('downloads/70007.zip');
  });
});
