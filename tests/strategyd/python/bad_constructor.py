# bad_constructor.py -- test fixture: the class cannot be created.
class Unbuildable:
    def __init__(self):
        raise RuntimeError("no venue credentials")

    def init(self, config):
        pass

    def on_market_data(self, tick):
        return None

    def on_fill(self, fill):
        pass

    def on_position_update(self, position):
        pass

    def metrics(self):
        return {}
