# echo.py -- test fixture: reports through metrics() what it was handed: its
# config, the fields of ticks, fills and positions, a tick it kept, the clock.
import strategy_engine as se


class Echo:
    def init(self, config):
        self.config = config
        self.seen = {}
        self.kept = None
        self.bad_metrics = None

    def start(self):
        self.seen["started"] = 1

    def stop(self):
        self.seen["stopped"] = 1

    def on_market_data(self, tick):
        if self.kept is None:
            self.kept = tick
        self.seen.update(price=tick.price, bid=tick.bid, ask=tick.ask, bid_size=tick.bid_size,
                         ask_size=tick.ask_size, last=tick.last, volume=tick.volume,
                         ts_ms=tick.ts_ns // 1000000, has_bidask=int(tick.has_bidask),
                         has_last=int(tick.has_last), sym_len=len(tick.symbol),
                         dict_fields=len(tick.as_dict()), now_ms=se.now_ns() // 1000000)
        se.log("tick " + tick.symbol, se.LOG_WARN)
        if tick.price == 13:
            self.bad_metrics = {"no spaces": 1}
        elif tick.price == 14:
            self.bad_metrics = {"text": "x"}
        elif tick.price == 15:
            self.bad_metrics = [1]
        return None

    def on_fill(self, fill):
        self.seen.update(fill_qty=fill.qty, fill_price=fill.price, fill_side=fill.side,
                         fill_id_ok=int(fill.client_order_id == "echo-7"))

    def on_position_update(self, position):
        self.seen.update(pos_qty=position.qty, pos_avg=position.avg_price)

    def metrics(self):
        if self.bad_metrics is not None:
            return self.bad_metrics
        c = self.config
        m = {"cfg_int": c["size"], "cfg_float": c["ratio"], "cfg_bool": int(c["on"] is True),
             "cfg_list": sum(c["levels"]), "cfg_group": c["limits"]["max"], "cfg_str": len(c["label"]),
             "kept_price": self.kept.price if self.kept else -1}
        m.update(self.seen)
        return m
