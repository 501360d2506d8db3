"""Whether another stream waits for a worker: a queued evaluate job whose stream nobody drains.

An evaluate job hands its worker over after its slice while another stream's job waits
(workers/pace.py). A queued job does not always mean a waiting stream: a job that finds its
stream empty clears the dirty flag, and when news comes before it has released the lock it
drains on, while the watcher, which set the flag fresh, has queued a job for the same stream.
That job is a stream being drained. Counted as waiting, it made both ticker jobs of make bench
hand over every second, with no other stream waiting: each handover queues the stream again, so
the queue never emptied, and when the two workers took each other's stream each reloaded and
re-parsed the other's state (3,000 move rings: tens of ms; README, session 10).

An evaluate job's id names its stream (keys.evaluate_job_id: the name in hex, as rq ids allow
only letters, digits, _ and -), so a script reads the queue and counts the jobs whose stream's
lock nobody holds. A job of another id form (queued by an earlier version) counts as waiting.
The script reads lock keys it is not given (one Redis, not a cluster, as everywhere here).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from watcher import keys
from workers.state import registered

# The first jobs of a queue looked at: a queue longer than that has streams waiting anyway.
LOOK = 64
# A drain asks at most this often, and only while its batches find a queue not empty.
CHECK_SECONDS = 0.05

_WAITING = """
local n = 0
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  local hex = string.match(id, '^ev%-(%x+)%-')
  if hex == nil then
    n = n + 1
  else
    local stream = (string.gsub(hex, '%x%x', function(c) return string.char(tonumber(c, 16)) end))
    if redis.call('EXISTS', ARGV[1] .. stream) == 0 then n = n + 1 end
  end
end
return n
"""


class _Scripts:
    def __init__(self, client: redis.Redis) -> None:
        self.waiting = client.register_script(_WAITING)


def waiting(client: redis.Redis, queues: Sequence[str]) -> bool:
    """Return whether a job in one of the evaluate `queues` is of a stream nobody drains."""
    script = registered(client, _Scripts).waiting
    prefix = keys.lock("")
    return any(int(script(keys=[keys.rq_queue(q)], args=[prefix, LOOK])) for q in queues)
