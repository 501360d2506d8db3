"""Rule files -> validated, compiled rules. Pure: no Redis, no network, no apprise."""
