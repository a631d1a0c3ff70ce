# no_on_fill.py -- test fixture: a strategy class without on_fill.
class Forgetful:
    def init(self, config):
        pass

    def on_market_data(self, tick):
        return []

    def on_position_update(self, position):
        pass

    def metrics(self):
        return {}
