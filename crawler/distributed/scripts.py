"""The frontier's Redis operations as Lua scripts: each one atomic, one round trip.

A frontier (one spider of one job) under base key F holds:

    F:req       hash  id -> the request (JSON, crawler/distributed/codec.py)
    F:meta      hash  id -> "site<TAB>score<TAB>url" (where it queues, for requeues and reports)
    F:q:<site>  zset  pending ids of one site, by score = -priority * 2^33 + sequence
    F:sites     zset  sites with pending ids, by the Redis time they may be served next
    F:lease     zset  in-flight ids, by lease deadline (Redis time)
    F:owner     hash  in-flight id -> "worker<TAB>leased at"
    F:deliv     hash  id -> how many times it was handed out
    F:failed    hash  id -> JSON {url, reason, deliveries}
    F:counts    hash  pending, pushed, done, failed, reclaimed, released, late, filtered
    F:fp:<gen>  set   request fingerprints of one generation (gen = Redis time // TTL)

and, shared by every job, per site S (host) under P:site:S: `tat` (the time its next request
may go, GCRA's theoretical arrival time) and `n:<10 s bucket>` (requests granted), with the
rates in P:rates (host -> requests/s, "*" the default).

Time is Redis's own (`TIME`), so workers on hosts with skewed clocks agree on leases and slots.
Keys are derived inside the scripts from the prefixes passed in ARGV, so this needs one Redis
(or a primary with replicas/Sentinel), not Redis Cluster.
"""

from __future__ import annotations

_COMMON = r"""
local function now_s()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function split3(s)
  local a = string.find(s, '\t', 1, true)
  local b = string.find(s, '\t', a + 1, true)
  return string.sub(s, 1, a - 1), string.sub(s, a + 1, b - 1), string.sub(s, b + 1)
end
local function rate_of(rates, site, default)
  local r = redis.call('HGET', rates, site)
  if not r then r = redis.call('HGET', rates, '*') end
  if not r then return default end
  return tonumber(r)
end
local function count_grant(sp, site, now)
  local k = sp .. ':' .. site .. ':n:' .. math.floor(now / 10)
  redis.call('INCR', k)
  redis.call('EXPIRE', k, 130)
end
local function owned_by(owner, worker)
  return owner and string.sub(owner, 1, string.len(worker) + 1) == worker .. '\t'
end
-- the request is over (done or failed): its body and bookkeeping go
local function forget(F, id)
  redis.call('HDEL', F .. ':req', id)
  redis.call('HDEL', F .. ':meta', id)
  redis.call('HDEL', F .. ':deliv', id)
end
-- put an in-flight (or lost) id back into its site's queue, or into failed after max deliveries
local function requeue(F, id, reason, max_deliv, count_as)
  redis.call('ZREM', F .. ':lease', id)
  redis.call('HDEL', F .. ':owner', id)
  local m = redis.call('HGET', F .. ':meta', id)
  if not m then return end
  local site, score, url = split3(m)
  local d = tonumber(redis.call('HGET', F .. ':deliv', id) or '0')
  if max_deliv > 0 and d >= max_deliv then
    redis.call('HSET', F .. ':failed', id, cjson.encode({url = url, deliveries = d,
      reason = reason .. ' (' .. d .. ' deliveries)'}))
    forget(F, id)
    redis.call('HINCRBY', F .. ':counts', 'failed', 1)
    return
  end
  redis.call('ZADD', F .. ':q:' .. site, tonumber(score), id)
  redis.call('ZADD', F .. ':sites', 'NX', 0, site)
  redis.call('HINCRBY', F .. ':counts', 'pending', 1)
  redis.call('HINCRBY', F .. ':counts', count_as, 1)
end
"""

_SEEN = r"""
-- remember fingerprint `fp` in this generation; true if it was in this or the previous one
local function seen(F, fp, ttl)
  local gen = math.floor(now_s() / ttl)
  local cur = F .. ':fp:' .. gen
  local was = redis.call('SADD', cur, fp) == 0
  if redis.call('TTL', cur) < 0 then redis.call('EXPIRE', cur, math.ceil(2 * ttl) + 60) end
  if not was then was = redis.call('SISMEMBER', F .. ':fp:' .. (gen - 1), fp) == 1 end
  return was
end
"""

# ARGV: F, fingerprint, fp ttl s -> 1 if seen before (and now remembered), else 0
SEEN = (
    _COMMON
    + _SEEN
    + r"""
if seen(ARGV[1], ARGV[2], tonumber(ARGV[3])) then return 1 end
return 0
"""
)

# ARGV: F, fingerprint ('' = dont_filter), fp ttl s, site, priority, payload, url
# -> the new id, or 0 when the fingerprint was seen (the request is a duplicate)
PUSH = (
    _COMMON
    + _SEEN
    + r"""
local F = ARGV[1]
if ARGV[2] ~= '' and seen(F, ARGV[2], tonumber(ARGV[3])) then
  redis.call('HINCRBY', F .. ':counts', 'filtered', 1)
  return 0
end
local id = redis.call('INCR', F .. ':seq')
local score = string.format('%.0f', -tonumber(ARGV[5]) * 8589934592 + id)
local site = ARGV[4]
redis.call('HSET', F .. ':req', id, ARGV[6])
redis.call('HSET', F .. ':meta', id, site .. '\t' .. score .. '\t' .. ARGV[7])
redis.call('ZADD', F .. ':q:' .. site, score, id)
redis.call('ZADD', F .. ':sites', 'NX', 0, site)
redis.call('HINCRBY', F .. ':counts', 'pending', 1)
redis.call('HINCRBY', F .. ':counts', 'pushed', 1)
return id
"""
)

# ARGV: F, site prefix, rates key, worker, lease s, lookahead s, default rate, max deliveries,
# how many. Returns {n, then n times: id, payload, delay until its slot (s), site, deliveries},
# or {0, wait hint} (seconds until a site may be served; -1: nothing pending at all).
POP = (
    _COMMON
    + r"""
local F, sp, rates, worker = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lease, lookahead = tonumber(ARGV[5]), tonumber(ARGV[6])
local default_rate, max_deliv, want = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local now = now_s()
for _, id in ipairs(redis.call('ZRANGEBYSCORE', F .. ':lease', '-inf', now, 'LIMIT', 0, 100)) do
  requeue(F, id, 'lease expired', max_deliv, 'reclaimed')
end
local out = {0}
for _ = 1, want do
  -- the ready sites' heads, best first; the first whose budget has a slot within the lookahead
  local heads = {}
  for _, site in ipairs(redis.call('ZRANGEBYSCORE', F .. ':sites', '-inf', now, 'LIMIT', 0, 16)) do
    local head = redis.call('ZRANGE', F .. ':q:' .. site, 0, 0, 'WITHSCORES')
    if #head == 0 then
      redis.call('ZREM', F .. ':sites', site)
    else
      table.insert(heads, {site, tonumber(head[2]), head[1]})
    end
  end
  table.sort(heads, function(a, b) return a[2] < b[2] end)
  local best, best_slot, best_rate, best_id
  for _, h in ipairs(heads) do
    local site = h[1]
    local rate = rate_of(rates, site, default_rate)
    local slot = now
    local ready = true
    if rate > 0 then
      local tat = tonumber(redis.call('GET', sp .. ':' .. site .. ':tat') or '0')
      if tat > now then slot = tat end
      if slot - now > lookahead then
        redis.call('ZADD', F .. ':sites', slot - lookahead, site)
        ready = false
      end
    end
    if ready then
      best, best_slot, best_rate, best_id = site, slot, rate, h[3]
      break
    end
  end
  if best == nil then break end
  redis.call('ZREM', F .. ':q:' .. best, best_id)
  local ready_at = now
  if best_rate > 0 then
    local tat = best_slot + 1 / best_rate
    redis.call('SET', sp .. ':' .. best .. ':tat', string.format('%.6f', tat), 'EX', 3600)
    ready_at = tat - lookahead
  end
  if redis.call('ZCARD', F .. ':q:' .. best) == 0 then
    redis.call('ZREM', F .. ':sites', best)
  else
    redis.call('ZADD', F .. ':sites', ready_at, best)
  end
  count_grant(sp, best, now)
  redis.call('ZADD', F .. ':lease', now + lease, best_id)
  redis.call('HSET', F .. ':owner', best_id, worker .. '\t' .. string.format('%.3f', now))
  local d = redis.call('HINCRBY', F .. ':deliv', best_id, 1)
  redis.call('HINCRBY', F .. ':counts', 'pending', -1)
  local payload = redis.call('HGET', F .. ':req', best_id) or ''
  out[1] = out[1] + 1
  for _, v in ipairs({best_id, payload, string.format('%.6f', best_slot - now), best, d}) do
    table.insert(out, v)
  end
end
if out[1] == 0 then
  local nxt = redis.call('ZRANGE', F .. ':sites', 0, 0, 'WITHSCORES')
  local wait = -1
  if #nxt > 0 then wait = math.max(0, tonumber(nxt[2]) - now) end
  return {0, string.format('%.6f', wait)}
end
return out
"""
)

# ARGV: F, worker, ids... -> {acknowledged, late}
ACK = (
    _COMMON
    + r"""
local F, worker = ARGV[1], ARGV[2]
local acked, late = 0, 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local owner = redis.call('HGET', F .. ':owner', id)
  local done = false
  if owned_by(owner, worker) then
    redis.call('ZREM', F .. ':lease', id)
    redis.call('HDEL', F .. ':owner', id)
    done = true
  else
    late = late + 1
    local m = redis.call('HGET', F .. ':meta', id)
    if m and not owner then
      -- the lease had expired and the request waits in the queue again: it is done, take it out
      local site = split3(m)
      if redis.call('ZREM', F .. ':q:' .. site, id) == 1 then
        redis.call('HINCRBY', F .. ':counts', 'pending', -1)
        if redis.call('ZCARD', F .. ':q:' .. site) == 0 then
          redis.call('ZREM', F .. ':sites', site)
        end
        done = true
      end
    end
  end
  if done then
    forget(F, id)
    redis.call('HINCRBY', F .. ':counts', 'done', 1)
    acked = acked + 1
  end
end
if late > 0 then redis.call('HINCRBY', F .. ':counts', 'late', late) end
return {acked, late}
"""
)

# ARGV: F, worker, lease s, ids... -> ids this worker no longer holds
RENEW = (
    _COMMON
    + r"""
local F, worker, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local deadline = now_s() + lease
local lost = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  if owned_by(redis.call('HGET', F .. ':owner', id), worker) then
    redis.call('ZADD', F .. ':lease', 'XX', deadline, id)
  else
    table.insert(lost, id)
  end
end
return lost
"""
)

# ARGV: F, worker, ids... : give requests back untouched (a stopping worker), not a delivery
RELEASE = (
    _COMMON
    + r"""
local F, worker = ARGV[1], ARGV[2]
local n = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  if owned_by(redis.call('HGET', F .. ':owner', id), worker) then
    redis.call('HINCRBY', F .. ':deliv', id, -1)
    requeue(F, id, 'released', 0, 'released')
    n = n + 1
  end
end
return n
"""
)

# ARGV: F, worker, id, reason : an entry that cannot be read or run goes to failed for good
FAIL = (
    _COMMON
    + r"""
local F, worker, id = ARGV[1], ARGV[2], ARGV[3]
if not owned_by(redis.call('HGET', F .. ':owner', id), worker) then return 0 end
local m = redis.call('HGET', F .. ':meta', id) or '?\t0\t?'
local _, _, url = split3(m)
redis.call('ZREM', F .. ':lease', id)
redis.call('HDEL', F .. ':owner', id)
redis.call('HSET', F .. ':failed', id, cjson.encode({url = url, reason = ARGV[4],
  deliveries = tonumber(redis.call('HGET', F .. ':deliv', id) or '1')}))
forget(F, id)
redis.call('HINCRBY', F .. ':counts', 'failed', 1)
return 1
"""
)

# ARGV: site prefix, rates key, site, default rate -> seconds until this request's slot
RESERVE = (
    _COMMON
    + r"""
local sp, rates, site = ARGV[1], ARGV[2], ARGV[3]
local rate = rate_of(rates, site, tonumber(ARGV[4]))
if rate <= 0 then return '0' end
local now = now_s()
local slot = tonumber(redis.call('GET', sp .. ':' .. site .. ':tat') or '0')
if slot < now then slot = now end
redis.call('SET', sp .. ':' .. site .. ':tat', string.format('%.6f', slot + 1 / rate), 'EX', 3600)
count_grant(sp, site, now)
return string.format('%.6f', slot - now)
"""
)

# ARGV: site prefix, site, seconds : nobody sends to `site` before now + seconds (Retry-After)
HOLD = (
    _COMMON
    + r"""
local sp, site, wait = ARGV[1], ARGV[2], tonumber(ARGV[3])
local k = sp .. ':' .. site .. ':tat'
local until_ = now_s() + wait
redis.call('SET', sp .. ':' .. site .. ':hold', '1', 'PX', math.ceil(wait * 1000))
local tat = tonumber(redis.call('GET', k) or '0')
if until_ > tat then
  redis.call('SET', k, string.format('%.6f', until_), 'EX', math.ceil(wait) + 3600)
end
return string.format('%.6f', math.max(until_, tat))
"""
)

# ARGV: job key, state to require, new state, frontier bases... -> 1 when the job moved on
# (only when every frontier has nothing pending and nothing in flight)
FINISH = r"""
local job = ARGV[1]
if redis.call('HGET', job, 'state') ~= ARGV[2] then return 0 end
for i = 4, #ARGV do
  local F = ARGV[i]
  if tonumber(redis.call('HGET', F .. ':counts', 'pending') or '0') > 0 then return 0 end
  if redis.call('ZCARD', F .. ':lease') > 0 then return 0 end
end
redis.call('HSET', job, 'state', ARGV[3])
return 1
"""
