/** The `worker` process: the BullMQ host against the configured Redis and S3. */
import { createLogger } from '../../infra/logger.js';
import { createServices } from '../dependencies.js';
import { startWorker, startWorkerMetrics, stopOnSignals } from '../processes.js';
import { loadConfigOrExit, requireRedisUrl } from './startup.js';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, service: 'worker' });
const services = createServices(config, requireRedisUrl(config), logger);
const worker = startWorker(config, services, logger);
const metrics = await startWorkerMetrics(config, worker, logger);

stopOnSignals(logger, async () => {
  await metrics.close();
  await worker.close(config.jobs.shutdownTimeoutMs);
  await services.close();
});
