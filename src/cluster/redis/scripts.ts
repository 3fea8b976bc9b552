import { createHash } from 'node:crypto';
import { LEASE, NAME, NAMES, RELAY } from './keys.js';

/** A Lua script with its SHA1, run by EVALSHA (EVAL when Redis lost its script cache). */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/*
 * Every script builds the keys it touches from the prefix it is given, so they
 * run on a single Redis (standalone or a Sentinel-managed primary), not on
 * Redis Cluster. Each runs atomically, which is what makes racing claims safe.
 */

/**
 * Claims names for a node. KEYS: own lease, own names set. ARGV: node id,
 * prefix, names... A name is free when unset, already ours, or held by a node
 * whose lease is gone (it is taken over atomically). Returns -1 without
 * claiming when this node's own lease is gone (a claim must never hang on a
 * missing lease), else the names that live nodes hold.
 */
export const CLAIM = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local taken = {}
for i = 3, #ARGV do
  local name = ARGV[i]
  local key = ARGV[2] .. '${NAME}' .. name
  local owner = redis.call('GET', key)
  if owner and owner ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. '${LEASE}' .. owner) == 1 then
    taken[#taken + 1] = name
  else
    if owner and owner ~= ARGV[1] then redis.call('SREM', ARGV[2] .. '${NAMES}' .. owner, name) end
    redis.call('SET', key, ARGV[1])
    redis.call('SADD', KEYS[2], name)
  end
end
return taken
`);

/** Releases names if this node still holds them. KEYS: own names set. ARGV: node id, prefix, names... */
export const RELEASE = script(`
for i = 3, #ARGV do
  local key = ARGV[2] .. '${NAME}' .. ARGV[i]
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
  redis.call('SREM', KEYS[1], ARGV[i])
end
return 0
`);

/**
 * Sends envelopes to the nodes holding their targets, in one round trip so
 * that envelopes of one sender keep their order. ARGV: prefix, own node id,
 * then a target name and its framed envelope per envelope. Each holder's
 * lease is checked once, and each live holder gets one PUBLISH carrying its
 * envelopes concatenated in the order given. Returns {holders, published}:
 * per envelope the holder's id, or '' when no live node other than this one
 * holds the name; and {node, receivers, ...} per node published to.
 */
export const FORWARD = script(`
local prefix, self = ARGV[1], ARGV[2]
local holders, live, grouped, nodes = {}, {}, {}, {}
for i = 3, #ARGV, 2 do
  local owner = redis.call('GET', prefix .. '${NAME}' .. ARGV[i])
  if owner and owner ~= self then
    local alive = live[owner]
    if alive == nil then
      alive = redis.call('EXISTS', prefix .. '${LEASE}' .. owner) == 1
      live[owner] = alive
    end
    if not alive then owner = false end
  else
    owner = false
  end
  if owner then
    local group = grouped[owner]
    if group == nil then
      group = {}
      grouped[owner] = group
      nodes[#nodes + 1] = owner
    end
    group[#group + 1] = ARGV[i + 1]
    holders[#holders + 1] = owner
  else
    holders[#holders + 1] = ''
  end
end
local published = {}
for _, node in ipairs(nodes) do
  published[#published + 1] = node
  published[#published + 1] = redis.call('PUBLISH', prefix .. '${RELAY}' .. node, table.concat(grouped[node]))
end
return {holders, published}
`);

// Deletes up to \`limit\` names of node \`id\` (those it still holds) and drops
// its set and registration once empty. Bounded so that reaping a node with
// many names never blocks Redis for long; the next heartbeat goes on.
const reap = `
local function reap(prefix, nodes, id, limit)
  local set = prefix .. '${NAMES}' .. id
  local names = redis.call('SPOP', set, limit)
  for _, name in ipairs(names) do
    local key = prefix .. '${NAME}' .. name
    if redis.call('GET', key) == id then redis.call('DEL', key) end
  end
  if redis.call('SCARD', set) == 0 then redis.call('SREM', nodes, id) end
end
`;

/**
 * One heartbeat: refreshes this node's lease and, when asked, reports which
 * watched nodes lost theirs and reaps names of dead nodes. KEYS: own lease,
 * nodes set. ARGV: node id, lease token, TTL ms, prefix, check ('1'/'0'),
 * reap limit, watched node ids... Returns {state, dead}: state 0 = the lease
 * was gone (Redis lost it, or this node stalled past its TTL), 1 = refreshed,
 * 2 = another process holds this node id (nothing written).
 */
export const HEARTBEAT = script(`${reap}
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[2] then return {2, {}} end
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
return {current and 1 or 0, dead}
`);

/** Leaves the cluster: releases every name of this node and drops its lease. KEYS: own lease, own names set, nodes set. ARGV: node id, prefix. */
export const LEAVE = script(`
for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[2] .. '${NAME}' .. name
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 0
`);

export const ALL_SCRIPTS: readonly Script[] = [CLAIM, RELEASE, FORWARD, HEARTBEAT, LEAVE];
