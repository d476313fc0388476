"""The waitlist (issue 20, item 4): patients asking for an earlier visit, offered a freed slot in
order, held for them for a set time; the first to accept books it through the normal booking
service."""
