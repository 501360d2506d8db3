"""Exchange -> Redis: the lowest layer of klaxon, owner of the event contract."""
