-- CANCEL_GROUP. KEYS[1..10]: the queue's keys and key prefixes (lib.lua).
-- ARGV[1] contact, ARGV[2] group prefix, ARGV[3] now, ARGV[4] reason,
-- ARGV[5...] ids to spare.  Returns the cancelled ids.
local keep = {}
for i = 5, #ARGV do keep[ARGV[i]] = true end
local cancelled, prefix = {}, ARGV[2]
for _, id in ipairs(ids_of(ARGV[1])) do
  if string.sub(id, 1, #prefix) == prefix and not keep[id]
      and cancel(id, ARGV[3], ARGV[4]) then
    cancelled[#cancelled + 1] = id
  end
end
return cancelled
