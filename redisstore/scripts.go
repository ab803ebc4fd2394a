package redisstore

import (
	"crypto/sha1"
	"encoding/hex"
)

// The scripts. Every one takes the caller's instant (microseconds since
// the Unix epoch, from the injected clock) as ARGV[1], so that the
// server's clock never decides whether a session is live, and every one
// acts on the keys of one hash slot, so that it runs atomically on the
// primary that owns them.
//
// A session key is a hash. The record: s (state), e (expiry, µs), v
// (version, a decimal string: a Lua number cannot hold 63 bits, so
// versions are compared as strings and incremented by HINCRBY, which
// Redis does in 64-bit integers). A move in progress adds, on the source,
// an intent: it (token), in (target ID), inow (the mover's instant), and
// ih, is (the new state, for ChangeIDIf); and, once claimed, on the
// target, a pending record: pt (token), pf (source ID), ps, pe, pv. A
// committed move leaves token -> target in the source's marker hash.
// Package doc: the protocol.
//
// Replies are arrays whose first element says what happened: OK, NF (not
// found), DUP, CONF, PEND (a pending record on the key must be resolved
// first: its source and token follow), BUSY (an intent on the key must be
// finished first: its token follows), ABORT, DONE, INTENT, COMMIT, NONE,
// GONE, NO.

// prelude is shared by every script.
const prelude = `
local function pend(k)
  local p = redis.call('HMGET', k, 'pt', 'pf')
  if p[1] then return {'PEND', p[2], p[1]} end
  return nil
end
local function busy(k)
  local t = redis.call('HGET', k, 'it')
  if t then return {'BUSY', t} end
  return nil
end
local function live(k, now)
  local e = tonumber(redis.call('HGET', k, 'e'))
  return e ~= nil and now < e, e
end
local function unintend(k)
  redis.call('HDEL', k, 'it', 'in', 'inow', 'ih', 'is')
end
-- gc sets the key's TTL: the latest expiry it holds, seen from now, plus
-- the margin; Redis's own expiry is garbage collection only.
local function gc(k, now, margin)
  local f = redis.call('HMGET', k, 'e', 'pe')
  local e = math.max(tonumber(f[1]) or 0, tonumber(f[2]) or 0)
  local ms = math.ceil((e - now) / 1000) + margin
  if ms < 1 then ms = 1 end
  redis.call('PEXPIRE', k, ms)
end
-- fenced: a write is called with its fence hash as the last key and its
-- token as the last argument; a client that lost the answer fences the
-- token, so that the write, if it had not run yet, never will.
local function fenced()
  return redis.call('HEXISTS', KEYS[#KEYS], ARGV[#ARGV]) == 1
end
local now = tonumber(ARGV[1])
-- head reads, in one call, what every single-key script checks first:
-- a pending move in (pt, pf), the expiry (e), an intent out (it), and
-- whatever else the script names.
local function head(k, ...)
  return redis.call('HMGET', k, 'pt', 'pf', 'e', 'it', ...)
end
-- expire sets the key's TTL from an expiry the script knows.
local function expire(k, e, margin)
  local ms = math.ceil((e - now) / 1000) + margin
  if ms < 1 then ms = 1 end
  redis.call('PEXPIRE', k, ms)
end
`

type script struct {
	name string
	src  string
	sha  string
}

func newScript(name, body string) *script {
	src := prelude + body
	sum := sha1.Sum([]byte(src))
	return &script{name: name, src: src, sha: hex.EncodeToString(sum[:])}
}

// Writes meet an intent with BUSY: the client finishes that move first
// (commits it, or aborts it if its target is taken) and tries again, so
// that a move in progress is never overtaken and movers never starve
// each other. Reads ignore intents: until the commit the session is
// where it was.
var (
	// create: KEYS k; ARGV now, margin, state, expires, version. The hot
	// scripts read everything they check in one HMGET (head) and set the
	// TTL from what they know, since each redis.call costs.
	scriptCreate = newScript("create", `
if fenced() then return {'FENCED'} end
local k = KEYS[1]
local f = head(k)
if f[1] then return {'PEND', f[2], f[1]} end
local e = tonumber(f[3])
if e and now < e then return {'DUP'} end
if f[4] then return {'BUSY', f[4]} end
redis.call('HSET', k, 's', ARGV[3], 'e', ARGV[4], 'v', ARGV[5])
expire(k, tonumber(ARGV[4]), tonumber(ARGV[2]))
return {'OK'}
`)

	// update: KEYS k; ARGV now, margin, state, expires, has-state ('0':
	// UpdateTTL, the state is kept).
	scriptUpdate = newScript("update", `
if fenced() then return {'FENCED'} end
local k = KEYS[1]
local f = head(k)
if f[1] then return {'PEND', f[2], f[1]} end
local e = tonumber(f[3])
if not e or now >= e then return {'NF'} end
if f[4] then return {'BUSY', f[4]} end
if ARGV[5] == '1' then
  redis.call('HSET', k, 's', ARGV[3], 'e', ARGV[4])
else
  redis.call('HSET', k, 'e', ARGV[4])
end
redis.call('HINCRBY', k, 'v', 1)
expire(k, tonumber(ARGV[4]), tonumber(ARGV[2]))
return {'OK'}
`)

	// updateIf: KEYS k; ARGV now, margin, version, state, expires ('' keeps it), new version.
	scriptUpdateIf = newScript("update-if", `
if fenced() then return {'FENCED'} end
local k = KEYS[1]
local f = head(k, 'v')
if f[1] then return {'PEND', f[2], f[1]} end
local e = tonumber(f[3])
if not e or now >= e then return {'NF'} end
if f[5] ~= ARGV[3] then return {'CONF'} end
if f[4] then return {'BUSY', f[4]} end
if ARGV[5] ~= '' then
  redis.call('HSET', k, 's', ARGV[4], 'v', ARGV[6], 'e', ARGV[5])
  expire(k, tonumber(ARGV[5]), tonumber(ARGV[2]))
else
  redis.call('HSET', k, 's', ARGV[4], 'v', ARGV[6])
end
return {'OK'}
`)

	// del: KEYS k; ARGV now. An expired record goes all the same.
	scriptDelete = newScript("delete", `
if fenced() then return {'FENCED'} end
local k = KEYS[1]
local f = head(k)
if f[1] then return {'PEND', f[2], f[1]} end
if f[4] then return {'BUSY', f[4]} end
redis.call('DEL', k)
local e = tonumber(f[3])
if e and now < e then return {'OK'} end
return {'NF'}
`)

	// touch: KEYS k; ARGV now, margin, next expiry, resolution (µs, rounded up).
	scriptTouch = newScript("touch", `
if fenced() then return {'FENCED'} end
local k = KEYS[1]
local f = head(k, 's', 'v')
if f[1] then return {'PEND', f[2], f[1]} end
local e = tonumber(f[3])
if not e or now >= e then return {'NF'} end
local next = tonumber(ARGV[3])
if next > e and next - e >= tonumber(ARGV[4]) then
  if f[4] then return {'BUSY', f[4]} end
  redis.call('HSET', k, 'e', ARGV[3])
  redis.call('HINCRBY', k, 'v', 1)
  expire(k, next, tonumber(ARGV[2]))
  return {'OK', f[5], ARGV[3], redis.call('HGET', k, 'v')}
end
return {'OK', f[5], f[3], f[6]}
`)

	// moveSame moves a record between two keys of one slot in one step.
	// KEYS src, dst; ARGV now, margin, version ('' any), state, has-state,
	// new version ('' to increment). PEND and BUSY say which key: '0'
	// the source, '1' the target.
	scriptMoveSame = newScript("move-same", `
if fenced() then return {'FENCED'} end
local src, dst = KEYS[1], KEYS[2]
local p = pend(src) if p then p[4] = '0' return p end
p = pend(dst) if p then p[4] = '1' return p end
if not live(src, now) then return {'NF'} end
if ARGV[3] ~= '' and redis.call('HGET', src, 'v') ~= ARGV[3] then return {'CONF'} end
if src == dst or live(dst, now) then return {'DUP'} end
p = busy(src) if p then p[3] = '0' return p end
p = busy(dst) if p then p[3] = '1' return p end
local r = redis.call('HMGET', src, 's', 'e')
if ARGV[5] == '1' then r[1] = ARGV[4] end
local v = ARGV[6]
if v == '' then
  redis.call('HINCRBY', src, 'v', 1)
  v = redis.call('HGET', src, 'v')
end
redis.call('DEL', src, dst)
redis.call('HSET', dst, 's', r[1], 'e', r[2], 'v', v)
gc(dst, now, tonumber(ARGV[2]))
return {'OK', v}
`)

	// prepare records a move's intent on its source: everything any client
	// needs to finish it. It answers as intent does, so that the mover
	// goes on to claim without reading it back. KEYS src; ARGV now, token,
	// target, version ('' any), state, has-state.
	scriptPrepare = newScript("prepare", `
if fenced() then return {'FENCED'} end
local src = KEYS[1]
local p = pend(src) if p then return p end
if not live(src, now) then return {'NF'} end
if ARGV[4] ~= '' and redis.call('HGET', src, 'v') ~= ARGV[4] then return {'CONF'} end
p = busy(src) if p then return p end
redis.call('HSET', src, 'it', ARGV[2], 'in', ARGV[3], 'inow', ARGV[1], 'ih', ARGV[6])
local r = redis.call('HMGET', src, 's', 'e', 'v')
if ARGV[6] == '1' then
  redis.call('HSET', src, 'is', ARGV[5])
  r[1] = ARGV[5]
end
return {'OK', ARGV[3], ARGV[1], r[1], r[2], r[3]}
`)

	// intent reads a move's intent, to finish it. KEYS src; ARGV now, token.
	scriptIntent = newScript("intent", `
local src = KEYS[1]
local r = redis.call('HMGET', src, 'it', 'in', 'inow', 'ih', 'is', 's', 'e', 'v')
if r[1] ~= ARGV[2] then return {'NONE'} end
local s = r[6]
if r[4] == '1' then s = r[5] end
return {'OK', r[2], r[3], s, r[7], r[8]}
`)

	// claim writes the incoming record on the target beside whatever
	// record it holds, invisible until settled; claiming again with the
	// same token is a no-op, and claiming with a token already settled on
	// the key (the fence hash keeps it) is refused: SETTLED. KEYS dst; ARGV mover's now, margin, token,
	// source, state, expires, version.
	scriptClaim = newScript("claim", `
if fenced() then return {'FENCED'} end
if redis.call('HEXISTS', KEYS[#KEYS], ARGV[3]) == 1 then return {'SETTLED'} end
local dst = KEYS[1]
local p = pend(dst)
if p then
  if p[3] == ARGV[3] then return {'OK'} end
  return p
end
if live(dst, now) then return {'DUP'} end
redis.call('HSET', dst, 'pt', ARGV[3], 'pf', ARGV[4], 'ps', ARGV[5], 'pe', ARGV[6], 'pv', ARGV[7])
gc(dst, now, tonumber(ARGV[2]))
return {'OK'}
`)

	// commit is the move's linearization point: with its intent still on
	// the source, nothing has written the source since the move read it
	// (writes finish the move first), so the source's record goes and the
	// marker says the target's pending record is the session. A commit
	// already made by another client answers OK again. KEYS src, marker;
	// ARGV now, margin, token, target, expires.
	scriptCommit = newScript("commit", `
if fenced() then return {'FENCED'} end
local src, mark = KEYS[1], KEYS[2]
if redis.call('HGET', src, 'it') ~= ARGV[3] then
  if redis.call('HEXISTS', mark, ARGV[3]) == 1 then return {'OK'} end
  return {'ABORT'}
end
local p = pend(src) if p then return p end
redis.call('HDEL', src, 's', 'e', 'v')
unintend(src)
redis.call('HSET', mark, ARGV[3], ARGV[4])
local ms = math.ceil((tonumber(ARGV[5]) - now) / 1000) + tonumber(ARGV[2])
if ms < 1 then ms = 1 end
if redis.call('PTTL', mark) < ms then redis.call('PEXPIRE', mark, ms) end
return {'OK'}
`)

	// status says where a move stands, seen from its source: INTENT (not
	// committed yet), COMMIT, or NONE (aborted: it can never commit, since
	// tokens are never reused). KEYS src, marker; ARGV now, token.
	scriptStatus = newScript("status", `
if redis.call('HGET', KEYS[1], 'it') == ARGV[2] then return {'INTENT'} end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {'COMMIT'} end
return {'NONE'}
`)

	// settle makes a pending record the key's record (committed) or drops
	// it (aborted). Replacing the record aborts any move of the record it
	// replaces. KEYS dst; ARGV now, margin, token, committed ('1'/'0').
	scriptSettle = newScript("settle", `
if fenced() then return {'FENCED'} end
local dst = KEYS[1]
if redis.call('HGET', dst, 'pt') ~= ARGV[3] then return {'GONE'} end
-- The token is spent on this key: a helper that read the intent before
-- the move ended must not claim the target again after it (it would
-- bring the session back under new after a delete, or clone it).
redis.call('HSET', KEYS[#KEYS], ARGV[3], '1')
redis.call('PEXPIRE', KEYS[#KEYS], tonumber(ARGV[2]))
if ARGV[4] == '1' then
  local r = redis.call('HMGET', dst, 'ps', 'pe', 'pv')
  redis.call('HSET', dst, 's', r[1], 'e', r[2], 'v', r[3])
  unintend(dst)
end
redis.call('HDEL', dst, 'pt', 'pf', 'ps', 'pe', 'pv')
if redis.call('EXISTS', dst) == 1 then gc(dst, now, tonumber(ARGV[2])) end
return {'OK'}
`)

	// unmark drops a marker once its mover knows the outcome. KEYS marker;
	// ARGV now, token.
	scriptUnmark = newScript("unmark", `
if fenced() then return {'FENCED'} end
redis.call('HDEL', KEYS[1], ARGV[2])
return {'OK'}
`)

	// abort withdraws an intent that must not commit (its target is taken,
	// or its mover failed and gives up); DONE if it had committed already.
	// KEYS src, marker; ARGV now, token.
	scriptAbort = newScript("abort", `
if fenced() then return {'FENCED'} end
if redis.call('HGET', KEYS[1], 'it') == ARGV[2] then
  unintend(KEYS[1])
  return {'OK'}
end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {'DONE'} end
return {'OK'}
`)

	// reclaim removes a record that is still the expired one DeleteExpired
	// read (NO: it is not) and is not being moved (BUSY: it is, and stays).
	// KEYS k; ARGV now, expires, version.
	scriptReclaim = newScript("reclaim", `
if fenced() then return {'FENCED'} end
local k = KEYS[1]
local p = pend(k) if p then return p end
if redis.call('HEXISTS', k, 'it') == 1 then return {'BUSY'} end
local r = redis.call('HMGET', k, 'e', 'v')
if r[1] ~= ARGV[2] or r[2] ~= ARGV[3] or now < tonumber(r[1]) then return {'NO'} end
redis.call('DEL', k)
return {'OK'}
`)
)

// fence marks a write's token as dead. KEYS fence hash; ARGV now,
// token, margin (ms).
var scriptFence = newScript("fence", `
redis.call('HSET', KEYS[1], ARGV[2], '1')
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {'OK'}
`)

// allScripts are loaded on every primary by New.
var allScripts = []*script{scriptCreate, scriptUpdate, scriptUpdateIf, scriptDelete, scriptTouch,
	scriptMoveSame, scriptPrepare, scriptIntent, scriptClaim, scriptCommit, scriptStatus, scriptSettle, scriptUnmark,
	scriptAbort, scriptReclaim, scriptFence}
