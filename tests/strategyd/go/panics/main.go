// Command panics is a test strategy (tests/strategyd/test_go_plugin.c) that
// misbehaves on purpose: it panics on a tick whose price is 13 and on every
// fill, and sends a signal before it panics on a price of 14, so the test can
// see that package strat recovers every panic into a counted error and that
// the host's process carries on.
package main

import "strategyengine/plugins/go/strat"

type panics struct{ ticks int }

func main() {}

func init() {
	strat.Register("go_panics", func(*strat.Host) strat.Strategy { return &panics{} })
}

func (p *panics) Init() error { return nil }

func (p *panics) OnMarketData(t *strat.Tick, out *strat.Signals) error {
	p.ticks++
	switch t.Price {
	case 13:
		var m map[string]int
		m["boom"] = 1 // a nil map write: a runtime panic, as a real bug would cause
	case 14:
		if _, err := out.Market(strat.Buy, 1, ""); err != nil {
			return err
		}
		panic("after a signal")
	}
	return nil
}

func (p *panics) OnFill(*strat.Fill) error {
	panic("in OnFill")
}
