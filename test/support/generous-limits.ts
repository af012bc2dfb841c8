/**
 * Settings that keep the per-client and per-owner budgets out of the way of tests that create
 * many exports but do not test the budgets.
 */
export const generousLimits: Readonly<Record<string, string>> = {
  RATE_LIMIT_READ: '1000000000',
  RATE_LIMIT_CREATE: '1000000000',
  MAX_ACTIVE_EXPORTS: '100000',
};
