/** Handler contexts for calling function handlers directly in unit tests. */
import type { Attributes, JobContext, Telemetry } from '../../runtime/contract/define.js';
import { MemoryLogger } from './logger.js';

/** Telemetry that keeps span attributes and counter totals in memory. */
export class MemoryTelemetry implements Telemetry {
  readonly attributes: Attributes = {};
  readonly counters = new Map<string, number>();

  setAttributes(attributes: Attributes): void {
    Object.assign(this.attributes, attributes);
  }

  count(name: string, value: number): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + value);
  }
}

/** Builds the context of the first attempt out of 3, with a fresh logger and telemetry. */
export function memoryJobContext(overrides: Partial<JobContext> = {}): JobContext {
  const jobId = overrides.jobId ?? 'memory-job';

  return {
    logger: new MemoryLogger(),
    signal: new AbortController().signal,
    requestId: jobId,
    telemetry: new MemoryTelemetry(),
    jobId,
    attempt: 1,
    maxAttempts: 3,
    ...overrides,
  };
}
