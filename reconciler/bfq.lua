#!lua name=bfq
--[[
bfq: the reconciler, a Redis Functions library (Redis 7.0).

Every write of reconciled state goes through these functions, so "freshest wins" is decided
inside Redis, atomically, together with the publish of what changed (DESIGN.md, "Freshest
wins"). Every process loads this library at connect (FUNCTION LOAD REPLACE) when the server
holds an older BFQ_VERSION; bump BFQ_VERSION with every change to this file.

Rules every function follows:
- All keys come in KEYS (Redis refuses undeclared keys); the prefix is the caller's business.
- Times (t) and update ids (uid) are non-negative decimal integers passed as strings and
  compared as strings of digits, so 64-bit values never go through a Lua double.
- "Newer" means t > stored t, or t == stored t and uid > stored uid. Equal (t, uid) keeps the
  stored record, so a duplicate batch changes nothing and publishes nothing.
- Messages are built by concatenating already-JSON values; only field names are escaped.
  cjson is used only to validate records in bfq_merge's "merge" mode.
- bfq_merge "replace" mode: a newer record replaces the stored one whole. "merge" mode is
  per-member freshest wins: the stored record keeps each JSON member's own "t:uid" (members
  older than the record's newest write are listed in its member "ft"); an incoming record may
  time some members itself with its own "ft" (see merge_mode below).

Functions (ARGV after the keys):
  bfq_version                                                   -> BFQ_VERSION (no-writes)
  bfq_merge  state, ts | channel, msgkey, mode, {field, json, t, uid, pubjson}*  -> changed
  bfq_put    record    | channel, message, t, uid, {field, value}*               -> 1 | 0
             (a record with a field "last", a non-negative integer, is also refused when the
             stored record's "last" is greater: a kline window's last bar never goes back)
  bfq_next   cursor, list                                       -> {symbol, index} | nil
  bfq_universe list, version | channel, symbol*                 -> {version, changed}
  bfq_weight_take minute, stop | w, budget, now_ms             -> {granted, used, wait_ms}
  bfq_weight_seen minute | used                                 -> used
  bfq_weight_stop stop | ms                                     -> pttl
  bfq_tick_lease members | member, ttl_ms, op                   -> {now_ms, {member*}}
  bfq_prune  state, ts | before, cursor, count                  -> {next_cursor, pruned}
]]

local BFQ_VERSION = 6

local CHUNK = 1000         -- values per HSET/HMGET/RPUSH call (unpack() allows ~8000)
local CURSOR_WRAP = 1e12   -- bfq_next folds its cursor back below this
local BIG_HASH = 64        -- a ts hash of this many fields is kept in hashtable encoding
local SOME_FIELDS = 8      -- smaller batches skip that check (cheap lookups either way)

-- Validates a non-negative decimal integer string and strips leading zeros. The common case
-- (digits, no leading zero) costs one find and returns s itself.
local function num(s, what)
    if type(s) ~= 'string' or #s == 0 or #s > 20 or s:find('%D') then
        error('bfq: ' .. what .. ' is not a non-negative integer: ' .. tostring(s))
    end
    if s:byte(1) ~= 48 then return s end
    local nz = s:find('[1-9]')
    return nz and s:sub(nz) or '0'
end

-- Compares two normalised integer strings: -1, 0 or 1 (length first: exact for 64 bits).
local function cmp(a, b)
    if #a ~= #b then return #a < #b and -1 or 1 end
    if a == b then return 0 end
    return a < b and -1 or 1
end

local function newer(t, uid, st, suid)
    local c = cmp(t, st)
    return c > 0 or (c == 0 and cmp(uid, suid) > 0)
end

local ESC = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n',
              ['\r'] = '\\r', ['\t'] = '\\t' }

local function esc_char(c)
    return ESC[c] or string.format('\\u%04x', c:byte())
end

-- A Lua string as a JSON string literal (no gsub when nothing needs escaping).
local function jstr(s)
    if not s:find('[%c"\\]') then return '"' .. s .. '"' end
    return '"' .. s:gsub('[%c"\\]', esc_char) .. '"'
end

local function jarray(list)
    local out = {}
    for i = 1, #list do out[i] = jstr(list[i]) end
    return '[' .. table.concat(out, ',') .. ']'
end

-- Calls redis command cmd with key and list[1..n], CHUNK values at a time; the replies of
-- the calls (when tables) are joined.
local function chunked(cmd, key, list, n)
    n = n or #list
    if n <= CHUNK then return redis.call(cmd, key, unpack(list, 1, n)) end
    local out = {}
    for i = 1, n, CHUNK do
        local r = redis.call(cmd, key, unpack(list, i, math.min(i + CHUNK - 1, n)))
        if type(r) == 'table' then
            for j = 1, #r do out[#out + 1] = r[j] end
        end
    end
    return out
end

-- The incoming (t, uid) checked and normalised, and its "t:uid" text. Pattern matching costs
-- ~20 ns a byte in Redis' Lua, so the common case (no leading zeros) is one find over the
-- joined text; anything else goes through num(), which normalises or raises.
local function rec_ts(t, uid)
    local ts = t .. ':' .. uid
    if #t <= 20 and #uid <= 20 then
        if ts:find(uid == '0' and '^[1-9]%d*:0$' or '^[1-9]%d*:[1-9]%d*$') then
            return t, uid, ts
        end
    end
    t, uid = num(t, 't'), num(uid, 'uid')
    return t, uid, t .. ':' .. uid
end

-- A stored "t:uid" -> t, uid (normalised), or nil when unreadable.
local function split_ts(v)
    local t, uid = v:match('^(%d+):(%d+)$')
    if not t or #t > 20 or #uid > 20 then return nil end
    if t:byte(1) == 48 or (#uid > 1 and uid:byte(1) == 48) then
        return num(t, 't'), num(uid, 'uid')
    end
    return t, uid
end

-- A hash with few fields and short values is stored as a listpack, where each field lookup
-- is a linear scan: HMGET/HSET of N fields on an M-field ts hash cost O(N*M) (0.25 ms each
-- for 200 symbols). So once a ts hash holds BIG_HASH fields it is moved to hashtable
-- encoding: a value longer than hash-max-listpack-value converts it, and Redis never converts
-- back (until a restart reloads it small; the next batch converts it again). The long value
-- goes into a field just written, which is then written again with its real value: no foreign
-- field is ever left and no command beyond HSET is needed. OBJECT and HLEN are read commands;
-- if OBJECT is refused nothing changes but speed.
local PAD = ('-'):rep(80)
local function hashtable_encoding(key, field, value)
    local enc = redis.pcall('OBJECT', 'ENCODING', key)
    if (enc == 'listpack' or enc == 'ziplist') and redis.call('HLEN', key) >= BIG_HASH then
        redis.call('HSET', key, field, PAD)
        redis.call('HSET', key, field, value)
    end
end

--[[ merge mode: per-field freshest wins.
  A stored record keeps, per JSON member, the (t, uid) at which that member was last set. The
  record's own "t:uid" (the ts hash entry) is the newest of them; members set at an older time
  are listed in a member "ft" of the stored object, "ft":{"member":"t:uid",...}, so a record
  whose members all came from its newest write carries no "ft" at all and a reader that wants
  "available" never needs to look at "ft". The stored member "t" is the record's t (written
  only when the stored or incoming object has a "t" member).
  An incoming record's members are timed by its (t, uid), except those named in its own "ft"
  object, whose times override it ("ft":{"available":1700000000123} takes the record's uid;
  "ft":{"available":"1700000000123:5"} gives both). Each incoming member is taken when its time
  is newer than the stored member's (a member the stored record lacks is always taken); the
  rest of the stored record is kept. When the record is deleted (a tombstone) or has never
  been written with a time, an incoming member must be newer than the tombstone's time.
  Member values are copied as raw JSON text, never re-encoded, so 64-bit integers survive. ]]

local T_KEY, FT_KEY = '"t"', '"ft"'

-- The index just after the JSON string that starts at i, or nil.
local function skip_str(s, i)
    local j = i + 1
    while true do
        local k = s:find('["\\]', j)
        if not k then return nil end
        if s:byte(k) == 34 then return k + 1 end
        j = k + 2
    end
end

-- The index just after the JSON value that starts at i, or nil. Nested values are skipped by
-- counting brackets outside strings (their validity is cjson's business).
local function skip_value(s, i)
    local c = s:byte(i)
    if c == 34 then return skip_str(s, i) end
    if c ~= 123 and c ~= 91 then
        local _, e = s:find('^[%w%.%+%-]+', i)
        return e and e + 1 or nil
    end
    local depth, j = 0, i
    while true do
        local k = s:find('[%[%]{}"]', j)
        if not k then return nil end
        local b = s:byte(k)
        if b == 34 then
            j = skip_str(s, k)
            if not j then return nil end
        else
            depth = depth + ((b == 123 or b == 91) and 1 or -1)
            j = k + 1
            if depth == 0 then return j end
        end
    end
end

-- A member name's JSON text in one canonical spelling (escapes decoded and re-encoded).
local function canon_key(k)
    if not k:find('\\', 1, true) then return k end
    local ok, v = pcall(cjson.decode, k)
    if not ok or type(v) ~= 'string' then return nil end
    return jstr(v)
end

-- The members of a JSON object's text: the list of names (as JSON string texts) in order and
-- name -> value text. nil when s is not an object.
local function members(s)
    local i = s:find('%S')
    if not i or s:byte(i) ~= 123 then return nil end
    local keys, vals, n = {}, {}, 0
    i = s:find('%S', i + 1)
    if i and s:byte(i) == 125 then
        if s:find('%S', i + 1) then return nil end
        return keys, vals
    end
    while i do
        if s:byte(i) ~= 34 then return nil end
        local e = skip_str(s, i)
        if not e then return nil end
        local key = canon_key(s:sub(i, e - 1))
        i = s:find('%S', e)
        if not key or not i or s:byte(i) ~= 58 then return nil end
        i = s:find('%S', i + 1)
        local ve = i and skip_value(s, i)
        if not ve then return nil end
        if vals[key] == nil then
            n = n + 1
            keys[n] = key
        end
        vals[key] = s:sub(i, ve - 1)
        i = s:find('%S', ve)
        if not i then return nil end
        local b = s:byte(i)
        if b == 125 then
            if s:find('%S', i + 1) then return nil end
            return keys, vals
        end
        if b ~= 44 then return nil end
        i = s:find('%S', i + 1)
    end
    return nil
end

-- An "ft" object's text -> name -> {t, uid}; a bare time takes uid. Raises when malformed.
local function field_times(text, uid)
    local keys, vals = members(text)
    if not keys then error('bfq: "ft" must be an object') end
    local out = {}
    for j = 1, #keys do
        local v = vals[keys[j]]
        local a, b = v:match('^"(%d+):(%d+)"$')
        if not a then
            a, b = v:match('^"(%d+)"$') or v:match('^(%d+)$'), uid
        end
        if not a then error('bfq: bad "ft" time: ' .. v:sub(1, 40)) end
        out[keys[j]] = { num(a, 'ft t'), num(b, 'ft uid') }
    end
    return out
end

-- The stored record c = {json, t, u} (json false: absent; t false: no readable time) as
-- ordered names, name -> value text, name -> t, name -> uid. "t" stays in the order (its
-- value is recomputed); "ft" is consumed.
local function stored_fields(c)
    local order, val, st, su = {}, {}, {}, {}
    if not c.json then return order, val, st, su, false end
    local keys, vals = members(c.json)
    if not keys then return order, val, st, su, false end -- unreadable: written over
    local ft = {}
    if vals[FT_KEY] and c.t then
        local ok, f = pcall(field_times, vals[FT_KEY], c.u)
        if ok then ft = f end
    end
    local n = 0
    for j = 1, #keys do
        local k = keys[j]
        if k ~= FT_KEY then
            n = n + 1
            order[n] = k
            val[k] = vals[k]
            local f = ft[k]
            if f then st[k], su[k] = f[1], f[2] else st[k], su[k] = c.t, c.u end
        end
    end
    return order, val, st, su, true
end

-- Merges the incoming record (json, t, uid) into the stored one c. Returns nil when no member
-- is taken; else the text to store, the text to publish (without "ft"), whether any member's
-- value changed, and the record's new t and uid (the newest member time).
local function merge_record(json, t, uid, c)
    local ok, dec = pcall(cjson.decode, json)
    local ikeys, ivals = members(json)
    if not ok or type(dec) ~= 'table' or not ikeys then
        error('bfq: merge mode needs a JSON object, got: ' .. json:sub(1, 80))
    end
    local ift = ivals[FT_KEY] and field_times(ivals[FT_KEY], uid) or {}
    local order, val, st, su, present = stored_fields(c)
    local no = #order
    local taken, changed = false, false
    for j = 1, #ikeys do
        local k = ikeys[j]
        if k == T_KEY then
            if val[k] == nil then
                no = no + 1
                order[no], val[k] = k, true
            end
        elseif k ~= FT_KEY then
            local kt, ku = t, uid
            if ift[k] then kt, ku = ift[k][1], ift[k][2] end
            local take
            if val[k] ~= nil then take = not st[k] or newer(kt, ku, st[k], su[k])
            else take = present or not c.t or newer(kt, ku, c.t, c.u) end
            if take then
                taken = true
                if val[k] == nil then
                    no = no + 1
                    order[no] = k
                end
                changed = changed or val[k] ~= ivals[k]
                val[k], st[k], su[k] = ivals[k], kt, ku
            end
        end
    end
    if not taken then return nil end
    local rt, ru = false, nil
    if present and c.t then rt, ru = c.t, c.u end
    for j = 1, no do
        local k = order[j]
        if k ~= T_KEY and st[k] and (not rt or newer(st[k], su[k], rt, ru)) then
            rt, ru = st[k], su[k]
        end
    end
    local parts, fts, nf = {}, {}, 0
    for j = 1, no do
        local k = order[j]
        if k == T_KEY then
            parts[j] = T_KEY .. ':' .. rt
        else
            parts[j] = k .. ':' .. val[k]
            if st[k] ~= rt or su[k] ~= ru then
                nf = nf + 1
                fts[nf] = k .. ':"' .. (st[k] or '0') .. ':' .. (su[k] or '0') .. '"'
            end
        end
    end
    local body = table.concat(parts, ',')
    local pub = '{' .. body .. '}'
    if nf == 0 then return pub, pub, changed, rt, ru end
    local full = '{' .. body .. (no > 0 and ',' or '') .. FT_KEY .. ':{' ..
        table.concat(fts, ',') .. '}}'
    return full, pub, changed, rt, ru
end

-- merge_mode's writes: the touched fields' new texts (HSET) or deletions (HDEL), and their
-- records' new "t:uid" in the ts hash.
local function merge_write(state, tskey, cur, order, norder, n)
    local sets, dels, ts = {}, {}, {}
    local ns, nd, nt = 0, 0, 0
    for j = 1, norder do
        local f = order[j]
        local c = cur[f]
        ts[nt + 1], ts[nt + 2] = f, c.t .. ':' .. c.u
        nt = nt + 2
        if c.json then
            sets[ns + 1], sets[ns + 2] = f, c.json
            ns = ns + 2
        else
            nd = nd + 1
            dels[nd] = f
        end
    end
    if ns > 0 then chunked('HSET', state, sets, ns) end
    if nd > 0 then chunked('HDEL', state, dels, nd) end
    chunked('HSET', tskey, ts, nt)
    if n >= SOME_FIELDS then hashtable_encoding(tskey, ts[1], ts[2]) end
end

-- bfq_merge in merge mode: the stored records and their times in two HMGETs, the records
-- merged in order in Lua (a bad record raises before anything is written), then one HSET of
-- the new texts, one HDEL of the deletions, one HSET of the records' new "t:uid" and one
-- PUBLISH of the records whose values changed (their merged text, or the caller's pubjson).
-- A record whose members only got newer times is written but not published nor counted.
local function merge_mode(state, tskey, channel, msgkey, args, n)
    local fields, seen, m = {}, {}, 0
    for k = 1, n do
        local f = args[5 * k - 1]
        if not seen[f] then
            seen[f] = true
            m = m + 1
            fields[m] = f
        end
    end
    local tsv = chunked('HMGET', tskey, fields, m)
    local jsv = chunked('HMGET', state, fields, m)
    local cur = {}
    for j = 1, m do
        local st, su = false, nil
        if tsv[j] then st, su = split_ts(tsv[j]) end
        cur[fields[j]] = { json = jsv[j] or false, t = st or false, u = su }
    end
    local order, norder, pub, touched = {}, 0, {}, {}
    local changed, maxt = 0, nil
    for k = 1, n do
        local i = 5 * k - 1
        local f, json = args[i], args[i + 1]
        local t, uid = rec_ts(args[i + 2], args[i + 3])
        local c = cur[f]
        local did, counts, pubval = false, false, 'null'
        if json == '' then
            if not c.t or newer(t, uid, c.t, c.u) then
                did, counts = true, c.json ~= false
                c.json, c.t, c.u = false, t, uid
            end
        else
            local full, pj, ch, rt, ru = merge_record(json, t, uid, c)
            if full then
                did, counts = true, ch
                c.json, c.t, c.u = full, rt, ru
                pubval = args[i + 4] ~= '' and args[i + 4] or pj
            end
        end
        if did then
            if not touched[f] then
                touched[f] = true
                norder = norder + 1
                order[norder] = f
            end
            if counts then
                if not pub[f] then changed = changed + 1 end -- a field counts once a batch
                pub[f] = true
                if not maxt or cmp(c.t, maxt) > 0 then maxt = c.t end
            end
            if pub[f] then pub[f] = pubval end
        end
    end
    if norder == 0 then return 0 end
    merge_write(state, tskey, cur, order, norder, n)
    if changed > 0 and channel ~= '' then
        local parts, np = {}, 0
        for j = 1, norder do
            local f = order[j]
            if pub[f] then
                np = np + 1
                parts[np] = jstr(f) .. ':' .. pub[f]
            end
        end
        redis.call('PUBLISH', channel, '{"t":' .. maxt .. ',' .. jstr(msgkey) .. ':{' ..
            table.concat(parts, ',') .. '}}')
    end
    return changed
end

--[[ bfq_merge in replace mode, in three passes so Redis is called a fixed number of times
  per batch (merge mode: merge_mode above):
  1. one HMGET of every field's "t:uid" from the ts hash; each record's (t, uid) is checked
     and compared with the freshest seen so far (stored, or earlier in the batch): the
     winners are kept in order. Nothing is written yet, so a bad record fails the whole call.
  2. one HMGET on the state hash of the fields being deleted (to know whether anything is
     deleted); then each field's final value.
  3. one HSET of the changed values, one HDEL of the deletions, one HSET of the new "t:uid"
     entries, and one PUBLISH built with table.concat. ]]

-- Pass 1: the indices into args of the winning records and their normalised t, their count,
-- and per field the final "t:uid".
local function merge_winners(tskey, args, n)
    local fields = {}
    for k = 1, n do fields[k] = args[5 * k - 1] end
    local stored = chunked('HMGET', tskey, fields, n)
    local curt, curu, curts = {}, {}, {} -- field -> freshest t, uid (false: none), "t:uid"
    local win, wint, nwin = {}, {}, 0
    for k = 1, n do
        local i = 5 * k - 1
        local f = fields[k]
        local t, uid, ts = rec_ts(args[i + 2], args[i + 3])
        local st, su = curt[f], curu[f]
        if st == nil then              -- first record of f in the batch: the stored entry
            local v = stored[k]
            if v == ts then
                st, su = t, uid        -- the stored record itself: not newer
            elseif v then
                st, su = split_ts(v)
            end
            st = st or false
            curt[f], curu[f] = st, su
        end
        if not st or newer(t, uid, st, su) then
            curt[f], curu[f], curts[f] = t, uid, ts
            nwin = nwin + 1
            win[nwin], wint[nwin] = i, t
        end
    end
    return win, wint, nwin, curts
end

-- Pass 2 helper: field -> stored JSON (false when absent) for the winners that need it.
local function merge_stored(state, args, win, nwin)
    local need, seen, m = {}, {}, 0
    for w = 1, nwin do
        local i = win[w]
        local f = args[i]
        if not seen[f] and args[i + 1] == '' then
            seen[f] = true
            m = m + 1
            need[m] = f
        end
    end
    local old = {}
    if m == 0 then return old end
    local r = chunked('HMGET', state, need, m)
    for j = 1, m do old[need[j]] = r[j] or false end
    return old
end

local function bfq_merge(keys, args)
    local state, tskey = keys[1], keys[2]
    local channel, msgkey, mode = args[1], args[2], args[3]
    if not state or not tskey then return redis.error_reply('ERR bfq_merge needs 2 keys') end
    if mode ~= 'replace' and mode ~= 'merge' then
        return redis.error_reply('ERR bfq_merge mode must be replace or merge')
    end
    if #args < 3 or (#args - 3) % 5 ~= 0 then
        return redis.error_reply('ERR bfq_merge records come in groups of 5')
    end
    local n = (#args - 3) / 5
    if n == 0 then return 0 end
    if mode == 'merge' then return merge_mode(state, tskey, channel, msgkey, args, n) end
    local win, wint, nwin, curts = merge_winners(tskey, args, n)
    if nwin == 0 then return 0 end
    local old = merge_stored(state, args, win, nwin)

    local final, pub = {}, {}   -- field -> json (false = deleted); field -> published value
    local order, norder = {}, 0 -- fields in order of first change
    local changed, maxt = 0, nil
    for w = 1, nwin do
        local i = win[w]
        local f, json = args[i], args[i + 1]
        local prev = final[f]
        local value, pubval, counts = false, 'null', true
        if json == '' then
            if prev == nil then counts = old[f] ~= false else counts = prev ~= false end
        else
            value = json
            pubval = args[i + 4]
            if pubval == '' then pubval = json end
        end
        if prev == nil then
            norder = norder + 1
            order[norder] = f
        end
        final[f] = value
        if counts then
            if not pub[f] then changed = changed + 1 end -- a field counts once a batch
            pub[f] = pubval
            local t = wint[w]
            if not maxt or cmp(t, maxt) > 0 then maxt = t end
        end
    end

    local sets, dels, ts, parts = {}, {}, {}, {}
    local ns, nd, nt, np = 0, 0, 0, 0
    for j = 1, norder do
        local f = order[j]
        ts[nt + 1], ts[nt + 2] = f, curts[f]
        nt = nt + 2
        local v = final[f]
        if v then
            sets[ns + 1], sets[ns + 2] = f, v
            ns = ns + 2
        else
            nd = nd + 1
            dels[nd] = f
        end
        local p = pub[f]
        if p then
            np = np + 1
            if f:find('[%c"\\]') then parts[np] = jstr(f) .. ':' .. p
            else parts[np] = '"' .. f .. '":' .. p end
        end
    end
    if ns > 0 then chunked('HSET', state, sets, ns) end
    if nd > 0 then chunked('HDEL', state, dels, nd) end
    chunked('HSET', tskey, ts, nt)
    if n >= SOME_FIELDS then hashtable_encoding(tskey, ts[1], ts[2]) end

    if changed > 0 and channel ~= '' then
        redis.call('PUBLISH', channel, '{"t":' .. maxt .. ',' .. jstr(msgkey) .. ':{' ..
            table.concat(parts, ',') .. '}}')
    end
    return changed
end

local function bfq_put(keys, args)
    local key = keys[1]
    if not key then return redis.error_reply('ERR bfq_put needs 1 key') end
    if #args < 4 or (#args - 4) % 2 ~= 0 then
        return redis.error_reply('ERR bfq_put needs channel, message, t, uid, {field, value}*')
    end
    local channel, message = args[1], args[2]
    local t, uid = num(args[3], 't'), num(args[4], 'uid')
    local pairs_, last = { 't', t, 'uid', uid }, nil
    for i = 5, #args, 2 do
        local f = args[i]
        if f == 'last' then last = num(args[i + 1], 'last') end
        if f ~= 't' and f ~= 'uid' then
            pairs_[#pairs_ + 1] = f
            pairs_[#pairs_ + 1] = args[i + 1]
        end
    end
    local old = redis.call('HMGET', key, 't', 'uid', 'last')
    -- an unreadable stored stamp is written over (as in bfq_merge), never an error forever
    local st, suid
    if old[1] then st, suid = split_ts(old[1] .. ':' .. (old[2] or '0')) end
    if st and not newer(t, uid, st, suid) then return 0 end
    -- "last" (a kline window's last open time) never goes back, whatever the record's t
    local sl = old[3] -- an unreadable stored "last" is written over too
    if last and sl and #sl > 0 and #sl <= 20 and not sl:find('%D') and
        cmp(last, num(sl, 'last')) < 0 then
        return 0
    end
    redis.call('DEL', key)
    chunked('HSET', key, pairs_)
    if channel ~= '' then redis.call('PUBLISH', channel, message) end
    return 1
end

local function bfq_next(keys, args)
    local cursor, list = keys[1], keys[2]
    if not cursor or not list then return redis.error_reply('ERR bfq_next needs 2 keys') end
    local len = redis.call('LLEN', list)
    if len == 0 then return nil end
    local n = redis.call('INCR', cursor)
    if n >= CURSOR_WRAP then
        -- fold back, keeping n's position modulo len so the walk goes on unbroken
        redis.call('SET', cursor, n % len)
    end
    local idx = (n - 1) % len
    local sym = redis.call('LINDEX', list, idx)
    if not sym then return nil end
    return { sym, idx }
end

-- Rewrites the list to syms (an array of symbols).
local function write_list(list, syms)
    redis.call('DEL', list)
    if #syms > 0 then chunked('RPUSH', list, syms) end
end

local function bfq_universe(keys, args)
    local list, vkey = keys[1], keys[2]
    if not list or not vkey or #args < 1 then
        return redis.error_reply('ERR bfq_universe needs 2 keys and a channel')
    end
    local channel = args[1]
    local old = redis.call('LRANGE', list, 0, -1)
    local want, added = {}, {}
    for i = 2, #args do want[args[i]] = true end

    local syms, pos = {}, {}
    for i, s in ipairs(old) do syms[i] = s; pos[s] = i end
    local removed = {}
    for _, s in ipairs(old) do
        if not want[s] then removed[#removed + 1] = s end
    end
    for _, s in ipairs(removed) do       -- swap-remove: the last element fills the hole
        local i, n = pos[s], #syms
        local last = syms[n]
        syms[i] = last
        pos[last] = i
        syms[n] = nil
        pos[s] = nil
    end
    for i = 2, #args do
        local s = args[i]
        if not pos[s] then
            syms[#syms + 1] = s
            pos[s] = #syms
            added[#added + 1] = s
        end
    end
    if #added == 0 and #removed == 0 then
        return { tonumber(redis.call('GET', vkey) or '0'), 0 }
    end
    local moved = {}
    for i, s in ipairs(old) do
        if pos[s] and pos[s] ~= i then moved[#moved + 1] = jstr(s) .. ':' .. (pos[s] - 1) end
    end
    write_list(list, syms)
    local v = redis.call('INCR', vkey)
    if channel ~= '' then
        redis.call('PUBLISH', channel, '{"version":' .. v .. ',"added":' .. jarray(added) ..
            ',"removed":' .. jarray(removed) .. ',"moved":{' .. table.concat(moved, ',') ..
            '}}')
    end
    return { v, 1 }
end

local function int_arg(s, what)
    local n = tonumber(s)
    if not n or n < 0 or n ~= math.floor(n) then error('bfq: bad ' .. what .. ': ' .. tostring(s)) end
    return n
end

local function bfq_weight_take(keys, args)
    local mkey, skey = keys[1], keys[2]
    if not mkey or not skey then return redis.error_reply('ERR bfq_weight_take needs 2 keys') end
    local w, budget, now = int_arg(args[1], 'w'), int_arg(args[2], 'budget'),
        int_arg(args[3], 'now_ms')
    local used = tonumber(redis.call('GET', mkey) or '0') or 0
    local stop = redis.call('PTTL', skey)
    if stop ~= -2 then
        if stop < 0 then stop = 1000 end   -- a stop key without a TTL: retry in a second
        return { 0, used, stop }
    end
    if used + w > budget then
        return { 0, used, 60000 - (now % 60000) }
    end
    used = redis.call('INCRBY', mkey, w)
    redis.call('EXPIRE', mkey, 120)
    return { 1, used, 0 }
end

local function bfq_weight_seen(keys, args)
    local mkey = keys[1]
    if not mkey then return redis.error_reply('ERR bfq_weight_seen needs 1 key') end
    local seen = int_arg(args[1], 'used')
    local used = tonumber(redis.call('GET', mkey) or '0') or 0
    if seen > used then
        redis.call('SET', mkey, seen, 'EX', 120)
        return seen
    end
    return used
end

local function bfq_weight_stop(keys, args)
    local skey = keys[1]
    if not skey then return redis.error_reply('ERR bfq_weight_stop needs 1 key') end
    local ms = int_arg(args[1], 'ms')
    local left = redis.call('PTTL', skey)
    if ms > 0 and left ~= -1 and left < ms then
        redis.call('SET', skey, '1', 'PX', ms)
        return ms
    end
    return left
end

redis.register_function{ function_name = 'bfq_version', flags = { 'no-writes' },
    callback = function() return BFQ_VERSION end }
redis.register_function('bfq_merge', bfq_merge)
redis.register_function('bfq_put', bfq_put)
redis.register_function('bfq_next', bfq_next)
redis.register_function('bfq_universe', bfq_universe)
redis.register_function('bfq_weight_take', bfq_weight_take)
redis.register_function('bfq_weight_seen', bfq_weight_seen)
redis.register_function('bfq_weight_stop', bfq_weight_stop)

--[[
bfq_tick_lease (appended for `bfq tick`, collectors/slots.h): the slot leases of the
book-ticker collectors, in one sorted set.
  bfq_tick_lease members | member, ttl_ms, op ("renew" | "leave")  -> {now_ms, {member*}}
Prunes the expired leases (score <= Redis server time), then renews this member with
score = now + ttl_ms, or removes it; answers the live members. The set itself expires when
nobody renews. Server time (TIME) is the one clock all instances share for leases.
]]
local function bfq_tick_lease(keys, args)
    local set = keys[1]
    if not set or #args < 3 then
        return redis.error_reply('ERR bfq_tick_lease needs 1 key, member, ttl_ms, op')
    end
    local member, ttl, op = args[1], int_arg(args[2], 'ttl_ms'), args[3]
    if ttl < 100 or ttl > 600000 then
        return redis.error_reply('ERR bfq_tick_lease ttl_ms out of range')
    end
    if #member == 0 or #member > 256 then
        return redis.error_reply('ERR bfq_tick_lease bad member')
    end
    local tm = redis.call('TIME')
    local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
    redis.call('ZREMRANGEBYSCORE', set, '-inf', now)
    if op == 'renew' then
        redis.call('ZADD', set, now + ttl, member)
    elseif op == 'leave' then
        redis.call('ZREM', set, member)
    else
        return redis.error_reply('ERR bfq_tick_lease op must be renew or leave')
    end
    if redis.call('EXISTS', set) == 1 then redis.call('PEXPIRE', set, ttl * 4) end
    return { now, redis.call('ZRANGE', set, 0, -1) }
end
redis.register_function('bfq_tick_lease', bfq_tick_lease)

--[[
bfq_prune (appended for recon_prune, reconciler/recon.h): drops a state hash's tombstones.
  bfq_prune state, ts | before, cursor, count  -> {next_cursor, pruned}
bfq_merge keeps a deleted field's "t:uid" in the ts hash so that an older record cannot bring
the field back; for orders that is one entry per finished order, forever. Once its t is older
than anything still in flight, a tombstone has done its work. One HSCAN step of the ts hash
(from cursor, COUNT count, 1..1000: bounds the time of one call) HDELs every field that is
absent from the state hash and whose t < before (exchange ms). Live fields and unreadable
stamps stay. The caller repeats with next_cursor until it is "0" (HSCAN may repeat a field;
pruned counts the fields actually deleted).
]]
local function bfq_prune(keys, args)
    local state, tskey = keys[1], keys[2]
    if not state or not tskey or #args < 3 then
        return redis.error_reply('ERR bfq_prune needs 2 keys, before, cursor, count')
    end
    local before, cursor, count = num(args[1], 'before'), num(args[2], 'cursor'),
        int_arg(args[3], 'count')
    if count < 1 or count > 1000 then
        return redis.error_reply('ERR bfq_prune count out of range')
    end
    local r = redis.call('HSCAN', tskey, cursor, 'COUNT', count)
    local kv, dels, n = r[2], {}, 0
    for i = 1, #kv, 2 do
        local t = split_ts(kv[i + 1])
        if t and cmp(t, before) < 0 and redis.call('HEXISTS', state, kv[i]) == 0 then
            n = n + 1
            dels[n] = kv[i]
        end
    end
    local pruned = n > 0 and redis.call('HDEL', tskey, unpack(dels, 1, n)) or 0
    return { r[1], pruned }
end
redis.register_function('bfq_prune', bfq_prune)
