// Command trivial is the smallest useful Go strategy, and the Go half of the
// language-boundary measurement of bench_strategy (tools/bench): it remembers
// each tick's price and counts ticks, and never trades. The C half is the
// "trivial (C)" strategy in tools/bench/bench_strategy.c, which does the same.
// Built into plugins/go_trivial.so by the Makefile. Also the shortest
// template: a Strategy needs Init, OnMarketData and OnFill, and a Register.
package main

import "strategyengine/plugins/go/strat"

type trivial struct {
	ticks uint64
	last  float64
}

func main() {}

func init() {
	strat.Register("go_trivial", func(*strat.Host) strat.Strategy { return &trivial{} })
}

func (t *trivial) Init() error { return nil }

func (t *trivial) OnMarketData(k *strat.Tick, _ *strat.Signals) error {
	t.ticks++
	t.last = k.Price
	return nil
}

func (t *trivial) OnFill(*strat.Fill) error { return nil }

func (t *trivial) Metrics(dst []strat.Metric) []strat.Metric {
	return append(dst, strat.Metric{Name: "ticks_total", Value: float64(t.ticks)},
		strat.Metric{Name: "last_price", Value: t.last})
}
