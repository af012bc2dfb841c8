/** The queue dashboard: Bull Board through its Hono adapter, under an admin path. */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { Hono } from 'hono';

/** The path of the dashboard. */
export const dashboardPath = '/admin/queues';

/** Builds the dashboard's Hono app for `queues`: jobs by state, retry and clean actions. */
export function createDashboard(queues: Queue[]): Hono {
  const adapter = new HonoAdapter(serveStatic);
  adapter.setBasePath(dashboardPath);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: adapter });

  return adapter.registerPlugin();
}
