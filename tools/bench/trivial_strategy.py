# trivial_strategy.py -- the smallest strategy: remembers the price, counts
# ticks, never trades. bench_strategy runs it next to the same strategy in C
# (and in Go, plugins/go/trivial) to show what hosting a Python strategy
# costs per tick.
class Trivial:
    def init(self, config):
        self.ticks = 0
        self.last = 0.0

    def on_market_data(self, tick):
        self.ticks += 1
        self.last = tick.price
        return None

    def on_fill(self, fill):
        pass

    def on_position_update(self, position):
        pass

    def metrics(self):
        return {"ticks": self.ticks}
