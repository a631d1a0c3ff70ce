"""example_strategy.py -- z-score mean reversion: a complete Python strategy for
strategyd, and the reference for the Python API (README: "Python strategies").

What it does, per symbol: keep the last `window` prices (the tick's mid) and
the z-score of the newest one, z = (price - mean) / stdev over that window
(population stdev). A price far above its recent mean is expected to come
back down, so:

    z >= entry_z      target position -order_size (short)
    z <= -entry_z     target position +order_size (long)
    |z| <= exit_z     target position 0 (flat)
    otherwise         keep the current target

and it sends a MARKET order for the difference between target and position.
One order per symbol is in flight at a time: the next one waits until the
engine reports the fill (on_fill) or that the order is gone (on_order_update).

Configuration (strategies.configs.<name>, handed to init as a dict):
    script = "example_strategy.py";
    window = 20;        # prices in the rolling window, >= 2
    entry_z = 2.0;      # > exit_z
    exit_z = 0.5;       # >= 0
    order_size = 1.0;   # > 0

How strategyd calls it: it creates the class with no arguments, calls
init(config) once (raise to refuse the configuration: strategyd then does
not start), start(), then on_market_data(tick) for every tick, on_fill(fill),
on_order_update(update) and on_position_update(position) as the engine
reports them, metrics() about once a second, and stop() at the end. An
exception in any of them is logged with its traceback and counted in
strategy_errors_total; the strategy keeps running.
"""
import strategy_engine as se


class _Book:
    """What the strategy knows about one symbol."""

    __slots__ = ("prices", "target", "position", "pending_id", "pending_qty")

    def __init__(self):
        self.prices = []        # the last `window` prices, oldest first
        self.target = 0.0       # the position the strategy wants
        self.position = 0.0     # the position it holds (fills, engine's updates)
        self.pending_id = ""    # client_order_id of the order in flight, "" if none
        self.pending_qty = 0.0  # its quantity not yet filled


class ZScoreMeanReversion:
    def init(self, config):
        self.window = int(config.get("window", 20))
        self.entry_z = float(config.get("entry_z", 2.0))
        self.exit_z = float(config.get("exit_z", 0.5))
        self.order_size = float(config.get("order_size", 1.0))
        if self.window < 2:
            raise ValueError(f"window must be >= 2, got {self.window}")
        if not 0 <= self.exit_z < self.entry_z:
            raise ValueError(f"need 0 <= exit_z < entry_z, got exit_z={self.exit_z} entry_z={self.entry_z}")
        if not self.order_size > 0:
            raise ValueError(f"order_size must be > 0, got {self.order_size}")
        self.books = {}
        self.counts = {"ticks_total": 0, "signals_total": 0, "fills_total": 0, "orders_gone_total": 0}

    def start(self):
        se.log(f"z-score mean reversion: window {self.window}, entry {self.entry_z}, exit {self.exit_z}")

    def zscore(self, prices):
        """z-score of the newest price within prices; None when they are all equal."""
        n = len(prices)
        mean = sum(prices) / n
        var = 0.0
        for p in prices:  # a plain loop: twice as fast as sum() over a generator
            d = p - mean
            var += d * d
        var /= n
        if var <= 0:
            return None
        return (prices[-1] - mean) / var ** 0.5

    def on_market_data(self, tick):
        self.counts["ticks_total"] += 1
        book = self.books.get(tick.symbol)
        if book is None:
            book = self.books[tick.symbol] = _Book()
        book.prices.append(tick.price)
        if len(book.prices) > self.window:
            del book.prices[0]
        if len(book.prices) < self.window:
            return None
        z = self.zscore(book.prices)
        if z is None:
            return None
        if z >= self.entry_z:
            book.target = -self.order_size
        elif z <= -self.entry_z:
            book.target = self.order_size
        elif abs(z) <= self.exit_z:
            book.target = 0.0
        if book.pending_id:
            return None
        delta = book.target - book.position
        if abs(delta) < 1e-9:
            return None
        signal = se.buy(delta) if delta > 0 else se.sell(-delta)
        book.pending_id, book.pending_qty = signal.client_order_id, abs(delta)
        self.counts["signals_total"] += 1
        return [signal]

    def on_fill(self, fill):
        self.counts["fills_total"] += 1
        book = self.books.setdefault(fill.symbol, _Book())
        book.position += fill.qty if fill.side == se.BUY else -fill.qty
        if fill.client_order_id == book.pending_id:
            book.pending_qty -= fill.qty
            if book.pending_qty <= 1e-9:
                book.pending_id = ""

    def on_order_update(self, update):
        self.counts["orders_gone_total"] += 1
        book = self.books.get(update.symbol)
        if book is not None and update.client_order_id == book.pending_id:
            book.pending_id = ""

    def on_position_update(self, position):
        self.books.setdefault(position.symbol, _Book()).position = position.qty

    def metrics(self):
        m = dict(self.counts)
        m["symbols"] = len(self.books)
        m["open_orders"] = sum(1 for b in self.books.values() if b.pending_id)
        return m

    def stop(self):
        se.log(f"z-score mean reversion stopped after {self.counts['ticks_total']} ticks")
