-- ROWS_OF_CONTACT. KEYS[1..10]: the queue's keys and key prefixes (lib.lua).
-- ARGV[1] contact.  Returns row(id) per item of the contact still on record.
local rows = {}
for _, id in ipairs(ids_of(ARGV[1])) do rows[#rows + 1] = row(id) end
return rows
