/**
 * The process's running telemetry, set once by the `--import` file. The SDK is global to the
 * process by nature, so this is the one module-level holder the runtime keeps.
 */
import type { Telemetry } from './sdk.js';

let current: Telemetry | undefined;

export function setTelemetry(telemetry: Telemetry): void {
  current = telemetry;
}

/** Returns the running telemetry, or undefined when the process started without it. */
export function getTelemetry(): Telemetry | undefined {
  return current;
}
