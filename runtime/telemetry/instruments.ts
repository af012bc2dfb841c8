/**
 * The service's own metrics and span helpers for the hosts. Without a started SDK the
 * OpenTelemetry API hands out no-op instruments, so hosts call these unconditionally.
 */
import { metrics, trace } from '@opentelemetry/api';

import type { Attributes, Telemetry } from '../contract/define.js';

const meter = metrics.getMeter('export-service');

/** Instruments shared by the hosts, created once per process. */
export const instruments = {
  httpDuration: meter.createHistogram('export.http.duration', {
    description: 'HTTP request duration by route',
    unit: 's',
  }),
  sseConnections: meter.createUpDownCounter('export.sse.connections', {
    description: 'Open Server-Sent Events streams',
  }),
  jobs: meter.createCounter('export.jobs', {
    description: 'Job runs by outcome: started, completed, retried, failed',
  }),
  queueWait: meter.createHistogram('export.job.queue_wait', {
    description: 'Time from enqueue to the start of a run',
    unit: 's',
  }),
  jobDuration: meter.createHistogram('export.job.duration', {
    description: 'Duration of one job run',
    unit: 's',
  }),
};

const counters = new Map<string, ReturnType<typeof meter.createCounter>>();

/** Returns the handler-facing telemetry for the span that is active when it is called. */
export function activeTelemetry(): Telemetry {
  const span = trace.getActiveSpan();

  return {
    setAttributes: (attributes: Attributes) => span?.setAttributes(attributes),
    count: (name: string, value: number) => counterFor(name).add(value),
  };
}

function counterFor(name: string) {
  let counter = counters.get(name);
  if (!counter) {
    counter = meter.createCounter(`export.${name}`);
    counters.set(name, counter);
  }

  return counter;
}
