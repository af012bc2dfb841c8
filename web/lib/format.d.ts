/** Types of format.js, for the unit tests that import it from TypeScript. */
export function formatBytes(bytes: number): string;
export function formatDuration(seconds: number): string;
export function shortId(jobId: string): string;
