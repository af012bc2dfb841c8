/**
 * Lua scripts of the record store. A script may only touch keys of one Redis Cluster slot, so
 * each one touches either a single record or the two index keys of one owner, which share the
 * owner as their hash tag.
 */

// KEYS[1] record. ARGV: expected version (0 for a new record), new version, JSON, TTL in ms,
// channel. Returns 1 when written, 0 when the expected version no longer matches.
export const compareAndSet = `
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'data', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[3])
return 1
`;

// KEYS[1] the owner's active exports, KEYS[2] all the owner's exports, both sorted sets scored
// by creation time in ms. ARGV: job id, creation time, oldest creation time kept, TTL in ms,
// max active exports. Entries older than the retention point at expired records, so they go.
// Returns {status, active}: status 1 when reserved and indexed, 0 when the owner already has
// `active` exports at the max, -1 when the owner's index already contains the id. Nothing is
// written unless the status is 1.
export const reserveActive = `
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return {-1, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local active = redis.call('ZCARD', KEYS[1])
if active >= tonumber(ARGV[5]) then return {0, active} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, active}
`;
