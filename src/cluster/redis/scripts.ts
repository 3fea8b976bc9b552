import { createHash } from 'node:crypto';
import { BATCH, CLAIM_SEPARATOR, EPOCH, HANDED, HANDED_TTL, LEASE, NAME, NAMES, RELAY } from './keys.js';

/** Lua source with its SHA1, run by EVALSHA (EVAL when Redis lost its script cache). */
export interface ScriptBody {
  readonly source: string;
  readonly sha: string;
}

/**
 * A script in two variants: publishing with `PUBLISH` (a single Redis, also
 * before Redis 7) and with `SPUBLISH` (`sharded`, a Redis Cluster: a message
 * goes only to the shard owning its channel, not to every node).
 */
export interface Script extends ScriptBody {
  readonly sharded: ScriptBody;
}

function body(source: string): ScriptBody {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Both variants of a script; its publishes must be written `redis.call('PUBLISH', …)`, its counts of subscribers `redis.call('PUBSUB', 'NUMSUB', …)`. */
export function script(source: string): Script {
  const sharded = source
    .replaceAll("redis.call('PUBLISH',", "redis.call('SPUBLISH',")
    .replaceAll("redis.call('PUBSUB', 'NUMSUB',", "redis.call('PUBSUB', 'SHARDNUMSUB',");
  const plain = body(source);
  return { ...plain, sharded: sharded === source ? plain : body(sharded) };
}

/*
 * Every script builds the keys it touches from the prefix it is given. The
 * prefix is a hash tag (keys.ts), so they all fall in one slot; each call
 * declares one key of that slot (the nodes set at least, see ScriptRunner)
 * so that a Redis Cluster client routes it to the slot's master, and Redis
 * (≥ 7) lets a script touch undeclared keys of the slot it runs in. Each runs
 * atomically, which is what makes racing claims safe.
 */

// The value of a name key is `<node id> <claim id>`: node ids hold no
// whitespace, so the first space ends the node id. A value without a space
// (written by an earlier version) is a bare node id.
export const ownerOf = `
local function ownerOf(value)
  local at = string.find(value, '${CLAIM_SEPARATOR}', 1, true)
  if at then return string.sub(value, 1, at - 1) end
  return value
end
`;

// A command carries the Redis time (ms) after which its node has answered it
// 'unavailable' (0: none): past it, it must not take effect, so that a
// command that waited in a stalled Redis never claims a name or delivers a
// message its sender was told failed.
export const expired = `
local function expired(deadline)
  deadline = tonumber(deadline)
  if deadline == 0 then return false end
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > deadline
end
`;

// A node's epoch (keys.ts) grows by one each time a name it held stops being
// its own, in the same script that changes the name: so a FORWARD that finds
// it unchanged knows every name the sender saw that node hold under it is
// still held there. A missing epoch starts from Redis's clock in microseconds,
// so that one deleted (the node left or was reaped) or lost with the data (a
// flush, a restart without persistence) comes back larger than any value a
// node may have kept.
export const epochs = `
local function epochOf(prefix, node)
  local key = prefix .. '${EPOCH}' .. node
  local value = redis.call('GET', key)
  if value then return value end
  local now = redis.call('TIME')
  value = now[1] .. string.rep('0', 6 - #now[2]) .. now[2]
  redis.call('SET', key, value)
  return value
end
local function bump(prefix, node)
  epochOf(prefix, node)
  redis.call('INCR', prefix .. '${EPOCH}' .. node)
end
`;

/**
 * Claims names for a node. KEYS: own lease, own names set. ARGV: node id,
 * prefix, deadline, then a name and its claim id per name. A name is free
 * when unset, already this node's (the claim id is replaced: a later login
 * on this node supersedes an earlier one), or held by a node whose lease is
 * gone (it is taken over atomically). Returns -2 without claiming when the
 * deadline has passed, -1 when this node's own lease is gone (a claim must
 * never hang on a missing lease), else the names that live nodes hold.
 */
export const CLAIM = script(`${ownerOf}${expired}${epochs}
if expired(ARGV[3]) then return -2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local self = ARGV[1]
local taken = {}
for i = 4, #ARGV, 2 do
  local name = ARGV[i]
  local key = ARGV[2] .. '${NAME}' .. name
  local value = redis.call('GET', key)
  local owner = value and ownerOf(value)
  if owner and owner ~= self and redis.call('EXISTS', ARGV[2] .. '${LEASE}' .. owner) == 1 then
    taken[#taken + 1] = name
  else
    if owner and owner ~= self then
      redis.call('SREM', ARGV[2] .. '${NAMES}' .. owner, name)
      bump(ARGV[2], owner)
    end
    redis.call('SET', key, self .. '${CLAIM_SEPARATOR}' .. ARGV[i + 1])
    redis.call('SADD', KEYS[2], name)
  end
end
return taken
`);

/**
 * Releases names if this node still holds them under the given claim ids
 * (fencing: a late release of an earlier login never frees a later one's
 * claim). KEYS: own names set. ARGV: node id, prefix, then a name and a claim
 * id per name; an empty claim id releases whatever claim this node has on the
 * name (for leftovers no local login holds).
 */
export const RELEASE = script(`${ownerOf}${epochs}
local self = ARGV[1]
local released = false
for i = 3, #ARGV, 2 do
  local name, claim = ARGV[i], ARGV[i + 1]
  local key = ARGV[2] .. '${NAME}' .. name
  local value = redis.call('GET', key)
  if value and ownerOf(value) == self then
    if claim == '' or value == self .. '${CLAIM_SEPARATOR}' .. claim then
      redis.call('DEL', key)
      redis.call('SREM', KEYS[1], name)
      released = true
    end
  else
    redis.call('SREM', KEYS[1], name)
  end
end
if released then bump(ARGV[2], self) end
return 0
`);

// Deletes up to \`limit\` names of node \`id\` (those it still holds) and drops
// its set and registration once empty. Bounded so that reaping a node with
// many names never blocks Redis for long; the next heartbeat goes on.
const reap = `${ownerOf}${epochs}
local function reap(prefix, nodes, id, limit)
  local set = prefix .. '${NAMES}' .. id
  local names = redis.call('SPOP', set, limit)
  for _, name in ipairs(names) do
    local key = prefix .. '${NAME}' .. name
    local value = redis.call('GET', key)
    if value and ownerOf(value) == id then redis.call('DEL', key) end
  end
  if #names > 0 then bump(prefix, id) end
  if redis.call('SCARD', set) == 0 then
    redis.call('SREM', nodes, id)
    redis.call('DEL', prefix .. '${EPOCH}' .. id, prefix .. '${BATCH}' .. id)
  end
end
`;

/**
 * One heartbeat: refreshes this node's lease and, when asked, reports which
 * watched nodes lost theirs and reaps names of dead nodes. KEYS: own lease,
 * nodes set. ARGV: node id, lease token, TTL ms, prefix, check ('1'/'0'),
 * reap limit, watched node ids... Returns {state, dead, seconds, microseconds}:
 * state 0 = the lease was gone (Redis lost it, or this node stalled past its
 * TTL), 1 = refreshed, 2 = another process holds this node id (nothing
 * written); then Redis's clock (TIME), for command deadlines.
 */
export const HEARTBEAT = script(`${reap}
local now = redis.call('TIME')
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[2] then return {2, {}, now[1], now[2]} end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
local dead = {}
if ARGV[5] == '1' then
  for i = 7, #ARGV do
    if redis.call('EXISTS', ARGV[4] .. '${LEASE}' .. ARGV[i]) == 0 then dead[#dead + 1] = ARGV[i] end
  end
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if redis.call('EXISTS', ARGV[4] .. '${LEASE}' .. id) == 0 then reap(ARGV[4], KEYS[2], id, tonumber(ARGV[6])) end
  end
end
return {current and 1 or 0, dead, now[1], now[2]}
`);

/** Leaves the cluster: releases every name of this node and drops its lease. KEYS: own lease, own names set, nodes set. ARGV: node id, prefix. */
export const LEAVE = script(`${ownerOf}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[2] .. '${NAME}' .. name
  local value = redis.call('GET', key)
  if value and ownerOf(value) == ARGV[1] then redis.call('DEL', key) end
end
-- Gone with the lease: made again (larger) only if the node id ever comes back.
redis.call('DEL', ARGV[2] .. '${EPOCH}' .. ARGV[1], ARGV[2] .. '${BATCH}' .. ARGV[1])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 0
`);

/**
 * The first step of a resume across nodes, on the resuming node: finds the
 * node holding a name and, if it is another live node, PUBLISHes the
 * hand-over request on its channel. ARGV: prefix, own node id, deadline,
 * name, request. Returns -2 without publishing when the deadline has passed;
 * else {holder, receivers}: holder '' when no live node holds the name (then
 * nothing is published), this node's id when it holds the name itself (ditto),
 * else the holder's id and how many subscribers got the request (0: its
 * subscription is down).
 */
export const RESUME_REQUEST = script(`${ownerOf}${expired}
if expired(ARGV[3]) then return -2 end
local prefix, self = ARGV[1], ARGV[2]
local value = redis.call('GET', prefix .. '${NAME}' .. ARGV[4])
if not value then return {'', 0} end
local owner = ownerOf(value)
if owner == self then return {owner, 0} end
if redis.call('EXISTS', prefix .. '${LEASE}' .. owner) == 0 then return {'', 0} end
return {owner, redis.call('PUBLISH', prefix .. '${RELAY}' .. owner, ARGV[5])}
`);

/**
 * Hands a name over to the node where it resumes, on the node holding it, in
 * one atomic step: the claim must still be this node's login's; the resuming
 * node's lease must live; then the grant is PUBLISHed on the resuming node's
 * channel, the claim moves to it (value and names sets), the hand-over's id
 * is recorded for a while (for {@link HAND_OVER_CHECK}) and a marker is
 * PUBLISHed on this node's own channel. Any FORWARD that runs after this
 * publishes to the new holder after the grant; any that ran before published
 * to this node before the marker. ARGV: prefix, own node id, own claim id,
 * resuming node id, its claim id, name, deadline, grant, marker, request id. Returns -2
 * when the deadline has passed, 0 when the claim is no longer this login's,
 * -3 when the resuming node's lease is gone, -4 when nobody listens on its
 * channel (nothing changed in these four cases), else {1, subscribers that
 * got the marker}.
 */
export const HAND_OVER = script(`${expired}${epochs}
if expired(ARGV[7]) then return -2 end
local prefix, self, to = ARGV[1], ARGV[2], ARGV[4]
local key = prefix .. '${NAME}' .. ARGV[6]
if redis.call('GET', key) ~= self .. '${CLAIM_SEPARATOR}' .. ARGV[3] then return 0 end
if redis.call('EXISTS', prefix .. '${LEASE}' .. to) == 0 then return -3 end
if redis.call('PUBLISH', prefix .. '${RELAY}' .. to, ARGV[8]) == 0 then return -4 end
redis.call('SET', key, to .. '${CLAIM_SEPARATOR}' .. ARGV[5])
redis.call('SREM', prefix .. '${NAMES}' .. self, ARGV[6])
redis.call('SADD', prefix .. '${NAMES}' .. to, ARGV[6])
bump(prefix, self)
redis.call('SET', prefix .. '${HANDED}' .. ARGV[10], to, 'PX', ${HANDED_TTL})
return {1, redis.call('PUBLISH', prefix .. '${RELAY}' .. self, ARGV[9])}
`);

/**
 * After a {@link HAND_OVER} whose answer was lost (timed out): whether it
 * took effect. ARGV: prefix, request id, the hand-over's deadline. Returns 1
 * when it did, 0 when it did not and its deadline has passed (it never will;
 * without a deadline, a call sent after it on the same connection runs after
 * it), -1 when it has not yet (ask again).
 */
export const HAND_OVER_CHECK = script(`${expired}
if redis.call('EXISTS', ARGV[1] .. '${HANDED}' .. ARGV[2]) == 1 then return 1 end
if ARGV[3] == '0' or expired(ARGV[3]) then return 0 end
return -1
`);

export const ALL_SCRIPTS: readonly Script[] = [CLAIM, RELEASE, HEARTBEAT, LEAVE, RESUME_REQUEST, HAND_OVER, HAND_OVER_CHECK];
