"""klaxon's reproducible benchmark of the tick -> decision hot path (not timed tests)."""
