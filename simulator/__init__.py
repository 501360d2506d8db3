"""klaxon's exchange simulator: local exchanges speaking the venues' real protocols on loopback.

It never imports watcher/: a signing or parsing bug must not be mirrored on both sides.

Layout
------
The venue-neutral core knows no wire format:

- market.py    Instrument (base, quote, spot/perpetual, tick), Market (price, 24 h stats, seeded
               walk), Ticker
- orders.py    OrderRequest, Order, Fill, OrderView;  account.py  Position, PositionView,
               Account, Balance;  admission.py  Refusal and the rules behind it (duplicate client
               id, reduce-only, margin)
- engine.py    Exchange: matching, fills, fees, positions, cash; every change returns the events
               of events.py (Ticker | OrderView | PositionView | Balance: frozen, Decimal)
- venue.py     Venue: one running venue (config, protocol, Exchange, Hub of clients, random walk,
               price paths); publish(events) sends each event as the protocol renders it
- connection.py  Client, Hub and serve(): any venue's WebSocket read loop and idle close
- control.py   /sim/* (prices, paths, inject, drop, fail, state), the same on every venue;
               faults.py  injected 5xx and timeouts on REST calls
- server.py    Simulator: hosts several venues in one thread, EACH ON ITS OWN PORT (so every SDK
               sees its venue at the root, as on the real host); Endpoint gives a venue's URLs
- registry.py  PROTOCOLS: venue name -> protocol class

One package per venue protocol: okx/ (OKX v5), binance/ (Binance spot and USD-M futures),
bybit/ (Bybit v5: spot and linear).

Adding a venue (simulator/<name>/ plus one line in registry.py)
---------------------------------------------------------------
The package's class satisfies protocol.VenueProtocol:

- `name` (the registry key, SimConfig.venue), `feeds` (feed name -> WebSocket path, e.g.
  {"public": "/ws/v5/public", "private": "/ws/v5/private"}; the Hub, /sim/inject, /sim/drop and
  Endpoint.ws_url use these names), `default_markets` (market name -> start price);
- `__init__(config: SimConfig)`: one instance per hosted venue;
- `instrument(market) -> Instrument | None`: what a market name of the venue trades (None: not
  a name the venue could have; the config is refused). Markets are keyed by the venue's names;
- `add_routes(app)`: the venue's WebSocket endpoints, each calling connection.serve(request,
  venue.hub, feed, on_text, on_binary, idle) (its keepalive, login and subscribe handling in
  on_text), and its REST endpoints. Handlers find the Venue at request.app[venue.VENUE_KEY]
  and use venue.config (credentials, permits()), venue.exchange (place, cancel, find, pending,
  executions, positions, balance, ticker) and venue.publish(events) after a change;
- `render(client, event) -> list[frame]`: the pushes an engine event sends to one client (by
  its feed, login and subscriptions), e.g. a Ticker to book-ticker subscribers, an OrderView
  with `fill` set as an execution report;
- `fault_body(status)`: the venue's JSON body of an injected 5xx.

The package keeps its own signing code (REST and login signatures verified there), its wording
of neutral things (okx/orders.py maps Refusal to OKX codes, margin modes to tdMode), and any
venue state (listen keys ...) in its own aiohttp AppKey or on its protocol instance.
"""

from simulator.config import SimConfig
from simulator.server import Endpoint, Simulator, serve_forever

__all__ = ["Endpoint", "SimConfig", "Simulator", "serve_forever"]
