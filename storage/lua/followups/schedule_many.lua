-- SCHEDULE_MANY. KEYS[1..10]: the queue's keys and key prefixes (lib.lua).
-- ARGV[1] replace, ARGV[2...] the items: id, due_epoch, contact, head, data ('' when inline).
-- Returns per item '1' when added, '0' when the id exists (unless replace and still pending),
-- as one string.
local added, touched, due_at = {}, {}, {}
for id, due, contact, head, data in items(2, 5) do
  local b = ib(id)
  local fresh = write(b, id, head, data, true)
  if not fresh and ARGV[1] == '1' and redis.call('HEXISTS', LEASED, id) == 0
      and not redis.call('ZSCORE', DONE, id) and get_state(b, id)[2] == '' then
    drop(b, id)
    redis.call('HDEL', ST .. b, id)
    fresh = write(b, id, head, data, false)
  end
  if fresh then
    due_at[#due_at + 1] = due
    due_at[#due_at + 1] = id
    touched[contact] = touched[contact] or {}
    table.insert(touched[contact], b)
  end
  added[#added + 1] = fresh and '1' or '0'
end
bulk('ZADD', DUE, due_at)
for contact, buckets in pairs(touched) do index_add(contact, buckets) end
return table.concat(added)
