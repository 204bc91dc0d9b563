-- The breaker of one host, as a state machine run atomically inside Redis so that replicas
-- never overwrite each other's counts. Times are the caller's clock (ARGV[13]), the one every
-- other decision of the executor reads, so a test moves one clock for all of them; without it,
-- Redis's own. Reading TIME needs Redis 5 or later, which replicates what a script wrote rather
-- than the script, so a script may read TIME and then write.
--
-- KEYS[1]  the host's hash
-- ARGV[1]  "allow", "done" or "state"
-- ARGV[2]  done: the generation Allow handed out
-- ARGV[3]  done: how many requests of that generation succeeded (counted first)
-- ARGV[4]  consecutive failures that open the breaker
-- ARGV[5]  failure ratio that opens it
-- ARGV[6]  outcomes in the window before the ratio applies
-- ARGV[7]  window, milliseconds
-- ARGV[8]  cool-down, milliseconds
-- ARGV[9]  trial requests while half-open
-- ARGV[10] time to live of the hash, milliseconds
-- ARGV[11] done: how many requests of that generation failed (counted after the successes)
-- ARGV[12] done: milliseconds since the newest of the successes; successes reported late that
--          are older than the last failure counted do not end a run of consecutive failures
-- ARGV[13] the caller's clock, unix milliseconds; 0 uses Redis's own clock
--
-- Returns {allowed (0|1), generation, retry after in milliseconds, state, entered}: entered lists
-- the states this call moved the breaker into, comma-separated, empty when it changed nothing
-- (the caller counts the transitions it made; "state" writes nothing, so it enters nothing).

local key = KEYS[1]
local op = ARGV[1]
local consecutive = tonumber(ARGV[4])
local ratio = tonumber(ARGV[5])
local min_requests = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
local cool_down = tonumber(ARGV[8])
local half_open = tonumber(ARGV[9])
local ttl = tonumber(ARGV[10])

local now = tonumber(ARGV[13]) or 0
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local f = redis.call('HMGET', key, 'state', 'gen', 'since', 'till', 'ok', 'fail', 'cfail', 'trials', 'hok', 'lfail')
local s = {
  state = f[1] or 'closed',
  gen = tonumber(f[2]) or 0,
  since = tonumber(f[3]) or now, -- start of the closed window
  till = tonumber(f[4]) or 0,    -- open: end of the cool-down; half_open: end of the trials' lease
  ok = tonumber(f[5]) or 0,      -- closed: successes in the window
  fail = tonumber(f[6]) or 0,    -- closed: failures in the window
  cfail = tonumber(f[7]) or 0,   -- closed: consecutive failures, across windows
  trials = tonumber(f[8]) or 0,  -- half_open: trial requests let through
  hok = tonumber(f[9]) or 0,     -- half_open: trials that succeeded
  lfail = tonumber(f[10]) or 0,  -- closed: when the last failure was counted
}
local dirty = false
local entered = {}

-- Every change of state starts a new generation, and outcomes of requests let through in an
-- earlier one are ignored: a request started before the breaker opened says nothing about
-- whether the host has recovered since.
local function enter(state)
  if state ~= s.state then table.insert(entered, state) end
  s.state = state
  s.gen = s.gen + 1
  s.since = now
  s.ok, s.fail, s.cfail, s.trials, s.hok, s.lfail = 0, 0, 0, 0, 0, 0
  if state == 'open' then s.till = now + cool_down else s.till = 0 end
  dirty = true
end

if s.state == 'open' and now >= s.till then
  enter('half_open')
elseif s.state == 'closed' and now >= s.since + window then
  -- The window rolls without a new generation: a request that outlives the window still counts.
  s.since = now
  s.ok, s.fail = 0, 0
  dirty = true
end

local allowed, retry = 0, 0
if op == 'allow' then
  if s.state == 'closed' then
    allowed = 1
  elseif s.state == 'half_open' then
    if s.trials >= half_open and now >= s.till then
      -- No verdict from the trials within a cool-down: their replica died or the request is
      -- slow. Let new trials through rather than stay half-open for ever.
      enter('half_open')
    end
    if s.trials < half_open then
      s.trials = s.trials + 1
      s.till = now + cool_down
      dirty = true
      allowed = 1
    end
  end
elseif op == 'done' and tonumber(ARGV[2]) == s.gen then
  local oks = tonumber(ARGV[3]) or 0
  local fails = tonumber(ARGV[11]) or 0
  if s.state == 'closed' then
    if oks > 0 then
      s.ok = s.ok + oks
      if now - (tonumber(ARGV[12]) or 0) >= s.lfail then s.cfail = 0 end
    end
    if fails > 0 then
      s.fail = s.fail + fails
      s.cfail = s.cfail + fails
      s.lfail = now
    end
    dirty = true
    local total = s.ok + s.fail
    if s.cfail >= consecutive or (total >= min_requests and s.fail / total >= ratio) then
      enter('open')
    end
  elseif s.state == 'half_open' then
    if fails > 0 then
      enter('open')
    elseif oks > 0 then
      s.hok = s.hok + oks
      dirty = true
      if s.hok >= half_open then enter('closed') end
    end
  end
end

if allowed == 0 and s.state ~= 'closed' then
  retry = math.max(s.till - now, 0)
end

if dirty and op ~= 'state' then
  redis.call('HSET', key, 'state', s.state, 'gen', s.gen, 'since', s.since, 'till', s.till,
    'ok', s.ok, 'fail', s.fail, 'cfail', s.cfail, 'trials', s.trials, 'hok', s.hok, 'lfail', s.lfail)
  redis.call('PEXPIRE', key, ttl)
end

if op == 'state' then entered = {} end

return {allowed, s.gen, retry, s.state, table.concat(entered, ',')}
