# two_classes.py -- test fixture: two candidate classes; the config must say which.
class _Base:
    def init(self, config):
        self.side = config.get("side", "none")

    def on_fill(self, fill):
        pass

    def on_position_update(self, position):
        pass

    def metrics(self):
        return {"which": self.which}


class First(_Base):
    which = 1

    def on_market_data(self, tick):
        return None


class Second(_Base):
    which = 2

    def on_market_data(self, tick):
        return None
