-- CANCEL. KEYS[1..10]: the queue's keys and key prefixes (lib.lua).
-- ARGV[1] id, ARGV[2] now, ARGV[3] reason
return cancel(ARGV[1], ARGV[2], ARGV[3]) and 1 or 0
