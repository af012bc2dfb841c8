/**
 * Chooses the API URL and the S3 settings that the CLI uses, from the command line, the config
 * and the local stack file. Pure functions, so the precedence rules have unit tests.
 */
import type { Config, S3Settings } from '../../runtime/config.js';

/** The API URL of the CLI when neither a flag, the config nor a stack file sets one. */
export const defaultApiUrl = 'http://127.0.0.1:3000';

/** The fields of the local stack file (`<localStackDir>/stack.json`) that the CLI reads. */
export interface StackSettings {
  apiUrl: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  sourceBucket: string;
  sourceKeyTemplate: string;
}

/** The location of the source objects, for comparing zip entries against them. */
export interface SourceLocation {
  s3: S3Settings;
  bucket: string;
  /** The object key of a file id, with `{file_id}` replaced by the id. */
  keyTemplate: string;
  /** The settings that were used, named in messages. */
  origin: 'config' | 'stack file';
}

/** The inputs of `resolveApiUrl`. */
export interface ApiUrlSources {
  flag: string | undefined;
  config: Readonly<Config>;
  /** The config of an empty environment, to tell whether the API settings were changed. */
  defaults: Readonly<Config>;
  stack: StackSettings | null;
}

/**
 * Returns the API URL: `--api`, else a URL set through the environment (API_URL, or API_HOST
 * and API_PORT), else the stack file's when S3_ENDPOINT is unset, else `defaultApiUrl`.
 */
export function resolveApiUrl(sources: ApiUrlSources): string {
  const { flag, config, defaults, stack } = sources;

  if (flag !== undefined) return flag;

  // NOTE: Config has no flag for "API_URL was set", so a setting equal to the default value
  // reads as unset and the stack file's URL wins over it.
  if (config.api.url !== defaults.api.url) return config.api.url;

  if (config.s3.endpoint === undefined && stack !== null) return stack.apiUrl;

  return defaultApiUrl;
}

/**
 * Returns the source location from the config when S3_ENDPOINT is set, else from the stack
 * file, else null.
 */
export function resolveSourceLocation(
  config: Readonly<Config>,
  stack: StackSettings | null,
): SourceLocation | null {
  if (config.s3.endpoint !== undefined) {
    return {
      s3: config.s3,
      bucket: config.sourceBucket,
      keyTemplate: config.sourceKeyTemplate,
      origin: 'config',
    };
  }

  if (stack === null) return null;

  return {
    s3: {
      endpoint: stack.s3.endpoint,
      publicEndpoint: stack.s3.endpoint,
      region: config.s3.region,
      accessKeyId: stack.s3.accessKeyId,
      secretAccessKey: stack.s3.secretAccessKey,
      // Local S3 emulators serve buckets under the path, not as subdomains of the endpoint.
      forcePathStyle: true,
    },
    bucket: stack.sourceBucket,
    keyTemplate: stack.sourceKeyTemplate,
    origin: 'stack file',
  };
}

/** Returns the source object key of `fileId`. */
export function sourceKey(keyTemplate: string, fileId: number): string {
  return keyTemplate.replace('{file_id}', String(fileId));
}
