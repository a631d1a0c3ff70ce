# bad_signals.py -- test fixture: on_market_data returns, by the tick's price,
# one kind of malformed output (test_python.c names each case); price 0 is a
# good order. Orders the host refused come back through on_order_update.
import strategy_engine as se


class BadSignals:
    def init(self, config):
        self.rejected = []

    def on_market_data(self, tick):
        case = int(tick.price)
        if case == 0:
            return [se.buy(1)]
        if case == 1:
            return 5
        if case == 2:
            return [{"side": "buy", "qty": 1}]
        if case == 3:
            return [se.buy(-1)]
        if case == 4:
            return [se.buy(float("nan"))]
        if case == 5:
            return [se.sell(1, price=-3)]
        if case == 6:
            return [se.Signal(action=se.CANCEL)]
        if case == 7:
            return [se.buy(1) for _ in range(17)]
        if case == 8:
            return [se.Signal(action=7, side=se.BUY, qty=1)]
        if case == 9:
            return [se.buy(1, symbol="A-SYMBOL-FAR-TOO-LONG")]
        if case == 10:
            return (se.buy(2), se.sell(1, price=float("inf")))
        if case == 11:
            return [se.Signal(action=se.NEW, side=se.SELL, type=se.MARKET, qty=1, price=5)]
        return None

    def on_fill(self, fill):
        pass

    def on_order_update(self, update):
        self.rejected.append((update.client_order_id, update.status, update.open_qty))

    def on_position_update(self, position):
        pass

    def metrics(self):
        last = self.rejected[-1] if self.rejected else ("", 0, 0.0)
        return {"rejected": len(self.rejected), "rejected_qty": sum(r[2] for r in self.rejected),
                "last_status": last[1]}
