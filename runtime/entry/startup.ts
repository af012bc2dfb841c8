/** Start-up checks shared by the entry points: they print one clear message and exit. */
import { type Config, loadConfig } from '../config.js';

/** Parses the environment, or exits naming every bad setting. */
export function loadConfigOrExit(): Readonly<Config> {
  try {
    return loadConfig(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}

/** Returns REDIS_URL, or exits with a message saying how to set it. */
export function requireRedisUrl(config: Readonly<Config>): string {
  if (config.redisUrl) return config.redisUrl;

  process.stderr.write(
    'REDIS_URL is not set: set it to the Redis the service uses, for example ' +
      'redis://127.0.0.1:6380, or run `npm start` to get a local stack.\n',
  );
  process.exit(1);
}
