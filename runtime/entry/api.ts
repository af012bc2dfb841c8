/** The `api` process: the HTTP host against the configured Redis and S3. */
import { createLogger } from '../../infra/logger.js';
import { createServices } from '../dependencies.js';
import { startApi, stopOnSignals } from '../processes.js';
import { loadConfigOrExit, requireRedisUrl } from './startup.js';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, service: 'api' });
const services = createServices(config, requireRedisUrl(config), logger);
const api = await startApi(config, services, logger);

stopOnSignals(logger, async () => {
  await api.close();
  await services.close();
});
