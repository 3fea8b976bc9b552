import { CLAIM_SEPARATOR, EPOCH, GATED, LEASE, NAME, RELAY } from './keys.js';
import { type Script, epochs, expired, ownerOf, script } from './scripts.js';

/*
 * The scripts that forward a batch of envelopes to the nodes holding their targets: FORWARD, given the
 * batch, and GATE, which checks the claims of a batch published outside Lua in the same transaction
 * (Lua hashes every byte of a string it is given). The helpers they share are in scripts.ts.
 */

// FORWARD's reading of names: the batch goes to the live nodes holding its envelopes' targets (see FORWARD).
const route = `${ownerOf}${epochs}
local function route(prefix, self, batch, index, names)
  local keys, at = {}, 1
  while true do
    local tab = string.find(names, '\\t', at, true)
    keys[#keys + 1] = prefix .. '${NAME}' .. string.sub(names, at, (tab or 0) - 1)
    if not tab then break end
    at = tab + 1
  end
  local count = #keys
  local values = redis.call('MGET', unpack(keys))
  local first = values[1] and ownerOf(values[1])
  if first and first ~= self then
    local head = first .. '${CLAIM_SEPARATOR}'
    local same = true
    for i = 2, count do
      local value = values[i]
      if not value or string.find(value, head, 1, true) ~= 1 then
        same = false
        break
      end
    end
    if same and redis.call('EXISTS', prefix .. '${LEASE}' .. first) == 1 then
      return {first, redis.call('PUBLISH', prefix .. '${RELAY}' .. first, batch), epochOf(prefix, first)}
    end
  end
  local holders, live = {}, {}
  local same = true
  for i = 1, count do
    local owner = values[i]
    if owner then owner = ownerOf(owner) end
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
    holders[i] = owner or ''
    if owner then same = false end
  end
  if same then return {'', 0} end
  local grouped, nodes = {}, {}
  at = 1
  local total = index == '' and count or #index
  for i = 1, total do
    local colon = string.find(batch, ';', at, true)
    if not colon then return redis.error_reply('malformed forward batch') end
    local stop = colon + tonumber(string.sub(batch, at, colon - 1))
    local owner = holders[index == '' and i or string.byte(index, i) + 1]
    if owner ~= '' then
      local group = grouped[owner]
      if group == nil then
        group = {}
        grouped[owner] = group
        nodes[#nodes + 1] = owner
      end
      group[#group + 1] = string.sub(batch, at, stop)
    end
    at = stop + 1
  end
  local published = {}
  for _, node in ipairs(nodes) do
    published[#published + 1] = node
    published[#published + 1] = redis.call('PUBLISH', prefix .. '${RELAY}' .. node, table.concat(grouped[node]))
    published[#published + 1] = epochOf(prefix, node)
  end
  return {holders, published}
end
`;

/**
 * Sends envelopes to the nodes holding their targets, in one round trip so
 * that envelopes of one sender keep their order. ARGV: prefix, own node id,
 * deadline, the batch (its envelopes byte-framed and concatenated, see
 * envelope-codec.ts), the envelopes' targets as indexes into the names
 * (one byte each, `''` when the names are the targets in order), then the
 * distinct targets joined by tabs (no name holds a control character, and
 * `ClusterBackplane` forwards to no target that does: the envelopes are
 * tab-separated too).
 *
 * The names are read in one MGET and each holder's lease is checked once.
 * When one live node holds every target (checked first, without making a
 * string per name), the batch is published to it as it came, and the reply
 * is {holder, receivers, epoch}; when no live node other than this one holds
 * any, {'', 0}. Otherwise the batch is cut by its framing and each live
 * holder gets one PUBLISH of its envelopes in the order given; the reply is
 * {holders, published}: per name the holder's id or '', and {node,
 * receivers, epoch, ...} per node published to. Returns -2 without
 * publishing when the deadline has passed. A sender that saw one node hold
 * every target under an epoch sends through GATE instead, which reads no name
 * while that epoch holds.
 */
export const FORWARD = script(`${expired}${route}
if expired(ARGV[3]) then return -2 end
return route(ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6])
`);

/**
 * FORWARD's fast path without handing the batch to Lua (Lua hashes every byte of a string it is given):
 * run inside a \`MULTI\` after a \`SET\` of the batch under KEYS[1] (the sending node's batch key, left
 * empty here rather than deleted: while a Redis Cluster migrates the slot, the source node serves a key it
 * still holds, and answers ASK for one it does not) and
 * before a plain \`PUBLISH\` of the same batch on the node's gated channel (keys.ts). ARGV: prefix, own
 * node id, deadline, the node the sender saw hold every target, its epoch then, the targets' indexes and
 * names (as FORWARD).
 *
 * When FORWARD's fast path would publish (the epoch holds, the lease lives) and that node listens on its
 * gated channel, this publishes there `+<length of the batch>`, which lets the node read the message
 * that follows, and returns 1: the \`PUBLISH\` after it delivers the batch. Otherwise the node will drop
 * that message (nothing approved it), and this routes the stored batch itself, as FORWARD does, with
 * FORWARD's reply: still inside the transaction, so the batch keeps its place among the sender's calls.
 * A node of an earlier version does not listen on the gated channel, and is sent to this way. Returns
 * -2, publishing nothing, when the deadline has passed.
 */
export const GATE = script(`${expired}${route}
local prefix, self, seen, epoch = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
if expired(ARGV[3]) then
  redis.call('SET', KEYS[1], '', 'KEEPTTL')
  return -2
end
local gated = prefix .. '${GATED}' .. seen
if redis.call('GET', prefix .. '${EPOCH}' .. seen) == epoch
  and redis.call('EXISTS', prefix .. '${LEASE}' .. seen) == 1
  and redis.call('PUBSUB', 'NUMSUB', gated)[2] > 0 then
  redis.call('PUBLISH', gated, '+' .. redis.call('STRLEN', KEYS[1]))
  redis.call('SET', KEYS[1], '', 'KEEPTTL')
  return 1
end
local batch = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], '', 'KEEPTTL')
if not batch or batch == '' then return redis.error_reply('gated forward without its batch') end
return route(prefix, self, batch, ARGV[6], ARGV[7])
`);

export const ALL_FORWARD_SCRIPTS: readonly Script[] = [FORWARD, GATE];
