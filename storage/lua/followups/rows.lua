-- ROWS. KEYS[1..10]: the queue's keys and key prefixes (lib.lua).
-- ARGV[1...] ids.  Returns row(id) per id (see row in lib.lua).
local rows = {}
for i = 1, #ARGV do rows[#rows + 1] = row(ARGV[i]) end
return rows
