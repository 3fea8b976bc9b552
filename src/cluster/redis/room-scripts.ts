import { type Script, script } from './scripts.js';
import { CLAIM_SEPARATOR, LEASE, NAME, RELAY } from './keys.js';

/*
 * Rooms in Redis, every key under the backplane's prefix:
 *
 * - `<prefix>room:<r>`      a sorted set of `<node id> <name>`, scored in join order.
 * - `<prefix>roomnodes:<r>` a hash: node id → how many members of room `r` it holds (the fan-out's targets).
 * - `<prefix>noderooms:<id>` a set of the rooms node `id` has members in (to leave them in one go).
 * - `<prefix>rooms`         a set of the rooms with members.
 *
 * Each script runs atomically (and, the prefix being a hash tag, in the
 * backplane's one slot of a Redis Cluster). The members of a node whose lease is gone are
 * purged by the next script that touches their room.
 */

// purge(prefix, room, node): removes node's members from room, and the room when it is empty.
const purge = `
local function purge(prefix, room, node)
  local zkey = prefix .. 'room:' .. room
  local head = node .. ' '
  for _, entry in ipairs(redis.call('ZRANGE', zkey, 0, -1)) do
    if string.sub(entry, 1, #head) == head then redis.call('ZREM', zkey, entry) end
  end
  redis.call('HDEL', prefix .. 'roomnodes:' .. room, node)
  redis.call('SREM', prefix .. 'noderooms:' .. node, room)
  if redis.call('ZCARD', zkey) == 0 then
    redis.call('DEL', zkey, prefix .. 'roomnodes:' .. room)
    redis.call('SREM', prefix .. 'rooms', room)
  end
end
local function purgeDead(prefix, room, self)
  for _, node in ipairs(redis.call('HKEYS', prefix .. 'roomnodes:' .. room)) do
    if node ~= self and redis.call('EXISTS', prefix .. '${LEASE}' .. node) == 0 then purge(prefix, room, node) end
  end
end
`;

/** publishTo(prefix, room, self, text): PUBLISHes text on each other live node's channel holding members of room. */
const publishTo = `
local function publishTo(prefix, room, self, text)
  for _, node in ipairs(redis.call('HKEYS', prefix .. 'roomnodes:' .. room)) do
    if node ~= self and redis.call('EXISTS', prefix .. '${LEASE}' .. node) == 1 then
      redis.call('PUBLISH', prefix .. '${RELAY}' .. node, text)
    end
  end
end
`;

/**
 * ARGV: prefix, node id, room, name, max members, announcement. Returns 0
 * when the room is full, else every member entry (`<node> <name>`) in join
 * order; a new member's announcement goes to the other nodes holding
 * members first.
 */
export const ROOM_JOIN = script(`${purge}${publishTo}
local prefix, node, room, name, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
purgeDead(prefix, room, node)
local zkey = prefix .. 'room:' .. room
local entry = node .. ' ' .. name
if not redis.call('ZSCORE', zkey, entry) then
  if redis.call('ZCARD', zkey) >= max then return 0 end
  publishTo(prefix, room, node, ARGV[6])
  local last = redis.call('ZRANGE', zkey, -1, -1, 'WITHSCORES')
  local score = 1
  if #last > 0 then score = tonumber(last[2]) + 1 end
  redis.call('ZADD', zkey, score, entry)
  redis.call('HINCRBY', prefix .. 'roomnodes:' .. room, node, 1)
  redis.call('SADD', prefix .. 'noderooms:' .. node, room)
  redis.call('SADD', prefix .. 'rooms', room)
end
return redis.call('ZRANGE', zkey, 0, -1)
`);

/** ARGV: prefix, node id, room, name, announcement (to the other nodes holding members, if it was a member). */
export const ROOM_PART = script(`${purge}${publishTo}
local prefix, node, room, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local zkey = prefix .. 'room:' .. room
if redis.call('ZREM', zkey, node .. ' ' .. name) == 0 then return 0 end
publishTo(prefix, room, node, ARGV[5])
local hkey = prefix .. 'roomnodes:' .. room
if redis.call('HINCRBY', hkey, node, -1) <= 0 then
  redis.call('HDEL', hkey, node)
  redis.call('SREM', prefix .. 'noderooms:' .. node, room)
end
if redis.call('ZCARD', zkey) == 0 then
  redis.call('DEL', zkey, hkey)
  redis.call('SREM', prefix .. 'rooms', room)
end
return 1
`);

/**
 * ARGV: prefix, node id, then a room and a text per message: PUBLISHes each
 * text once on the channel of each other live node holding members of its room, in order.
 */
export const ROOM_PUBLISH = script(`
local prefix, self = ARGV[1], ARGV[2]
-- A call carries a turn's broadcasts, mostly to the same rooms: each room's channels are looked up once.
local channelsOf = {}
for i = 3, #ARGV, 2 do
  local room = ARGV[i]
  local channels = channelsOf[room]
  if channels == nil then
    channels = {}
    for _, node in ipairs(redis.call('HKEYS', prefix .. 'roomnodes:' .. room)) do
      if node ~= self and redis.call('EXISTS', prefix .. '${LEASE}' .. node) == 1 then
        channels[#channels + 1] = prefix .. '${RELAY}' .. node
      end
    end
    channelsOf[room] = channels
  end
  for j = 1, #channels do redis.call('PUBLISH', channels[j], ARGV[i + 1]) end
end
return 0
`);

/** ARGV: prefix, node id, room. Every member entry of live nodes, in join order. */
export const ROOM_MEMBERS = script(`${purge}
purgeDead(ARGV[1], ARGV[3], ARGV[2])
return redis.call('ZRANGE', ARGV[1] .. 'room:' .. ARGV[3], 0, -1)
`);

/** ARGV: prefix, node id: removes every membership of the node. */
export const ROOM_LEAVE_NODE = script(`${purge}
local prefix, node = ARGV[1], ARGV[2]
for _, room in ipairs(redis.call('SMEMBERS', prefix .. 'noderooms:' .. node)) do purge(prefix, room, node) end
redis.call('DEL', prefix .. 'noderooms:' .. node)
return 0
`);

/**
 * ARGV: prefix, from node, to node, name: moves the name's memberships (same
 * score) from one node to the other. Returns {room, entries...} per room moved.
 */
export const ROOM_MOVE = script(`
local prefix, from, to, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local moved = {}
for _, room in ipairs(redis.call('SMEMBERS', prefix .. 'noderooms:' .. from)) do
  local zkey = prefix .. 'room:' .. room
  local score = redis.call('ZSCORE', zkey, from .. ' ' .. name)
  if score then
    redis.call('ZREM', zkey, from .. ' ' .. name)
    redis.call('ZADD', zkey, score, to .. ' ' .. name)
    local hkey = prefix .. 'roomnodes:' .. room
    if redis.call('HINCRBY', hkey, from, -1) <= 0 then
      redis.call('HDEL', hkey, from)
      redis.call('SREM', prefix .. 'noderooms:' .. from, room)
    end
    redis.call('HINCRBY', hkey, to, 1)
    redis.call('SADD', prefix .. 'noderooms:' .. to, room)
    moved[#moved + 1] = {room, redis.call('ZRANGE', zkey, 0, -1)}
  end
end
return moved
`);

/** ARGV: prefix, name. The live node holding the name, or false. */
export const NAME_HOLDER = script(`
local value = redis.call('GET', ARGV[1] .. '${NAME}' .. ARGV[2])
if not value then return false end
local at = string.find(value, '${CLAIM_SEPARATOR}', 1, true)
local node = value
if at then node = string.sub(value, 1, at - 1) end
if redis.call('EXISTS', ARGV[1] .. '${LEASE}' .. node) == 0 then return false end
return node
`);

/** Loaded with the backplane's own scripts (ScriptRunner.load). */
export const ALL_ROOM_SCRIPTS: readonly Script[] = [
  ROOM_JOIN,
  ROOM_PART,
  ROOM_PUBLISH,
  ROOM_MEMBERS,
  ROOM_LEAVE_NODE,
  ROOM_MOVE,
  NAME_HOLDER,
];
