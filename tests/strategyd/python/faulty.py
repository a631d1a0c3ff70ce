# faulty.py -- test fixture: raises in on_market_data above price 100, in
# on_fill always, and calls sys.exit in on_position_update; otherwise a
# well-behaved strategy (test_python.c).
import sys

import strategy_engine as se


def divide(a, b):
    return a / b


class Faulty:
    def init(self, config):
        self.ticks = 0

    def on_market_data(self, tick):
        self.ticks += 1
        if tick.price > 100:
            return [se.buy(divide(1, 0))]
        return []

    def on_fill(self, fill):
        raise KeyError(fill.client_order_id)

    def on_position_update(self, position):
        sys.exit(3)  # must not end strategyd

    def metrics(self):
        return {"ticks": self.ticks}
