-- FORGET_CONTACT. KEYS[1..10]: the queue's keys and key prefixes (lib.lua).
-- ARGV[1] contact.  Erases every item of the contact, whatever its state (pending, in flight,
-- finished, dead), with its index entry and weekly-cap set.  Returns how many.
local ids = ids_of(ARGV[1])
for _, id in ipairs(ids) do
  redis.call('ZREM', DUE, id)
  redis.call('HDEL', LEASED, id)
  redis.call('LREM', DEAD, 0, id)
  forget(id)
end
redis.call('HDEL', index_key(ARGV[1]), ARGV[1])
redis.call('DEL', CAP .. ARGV[1])
return #ids
