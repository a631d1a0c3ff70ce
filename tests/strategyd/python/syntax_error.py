# syntax_error.py -- test fixture: line 5 lacks its colon.
import strategy_engine as se

class Broken:
    def on_market_data(self, tick)
        return []
