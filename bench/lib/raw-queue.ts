/** The queue of the end-to-end baseline, kept apart from the service's `export:bull` keys. */
export const rawQueueName = 'raw-exports';
export const rawQueuePrefix = 'bench:bull';

/** The data of one baseline job. */
export interface RawJobData {
  fileId: number;
  jobId: string;
}
