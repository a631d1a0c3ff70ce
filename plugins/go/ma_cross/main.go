// Command ma_cross is the Go example strategy: the same moving-average
// crossover as plugins/c/example_plugin.c, written against package strat and
// built into a strategy plugin with
//
//	go build -buildmode=c-shared -o plugins/go_ma_cross.so ./ma_cross   (in plugins/go)
//
// (the engine's Makefile does this, exporting only strat_plugin_entry). Enable
// it in the engine's config like any plugin:
//
//	strategies = {
//	  enabled = ["go_ma"];
//	  configs = { go_ma = { plugin = "go_ma_cross.so"; fast = 5; slow = 20; order_size = 1.0; }; };
//	};
//
// What it does. Per symbol it averages the last `fast` and the last `slow`
// prices (Tick.Price: the quote's mid, or the last trade without a quote).
// When the fast average crosses above the slow one it wants to be long
// order_size; when it crosses below, short order_size. It sends MARKET orders
// for the difference between that target and what it holds plus what it has
// already asked for. Only a real crossing trades: when the slow window first
// fills, the current side is merely noted, so a restart mid-trend does not buy
// the top. Given the same ticks, fills and updates, it sends exactly the
// signals the C example sends (tests/strategyd/test_go_plugin.c checks this).
//
// How it keeps the Go rules (package strat's documentation has them all):
// windows are allocated in Init, so OnMarketData allocates nothing except an
// order's id string; fills and rejects find orders by that id; errors are
// returned, never panicked, and name the config key at Init.
package main

import (
	"fmt"
	"math"
	"syscall"

	"strategyengine/plugins/go/strat"
)

const (
	maxSymbols = 32 // symbols one instance follows; more is ENOSPC
	maxOrders  = 64 // open orders at once, all symbols together
	maxWindow  = 10000
	qtyEps     = 1e-9 // quantities closer than this are equal
)

// symbolState is one symbol's history and book.
type symbolState struct {
	prices   []float64 // the last `slow` prices, a ring
	count    int       // prices seen, up to slow
	head     int       // where the next price goes
	side     int       // fast vs slow when last different: +1 above, -1 below, 0 not yet known
	target   float64   // the position we want: -orderSize, 0 or +orderSize
	position float64   // the sum of our fills, signed
	pending  float64   // our orders not yet done, signed (buys positive)
}

// order is one order we sent that may still fill.
type order struct {
	sym     *symbolState
	openQty float64 // signed, like pending
}

type maCross struct {
	h          *strat.Host
	fast, slow int
	orderSize  float64
	windows    []float64 // maxSymbols * slow prices, allocated in Init
	syms       map[string]*symbolState
	orders     map[string]*order
	signals    float64
	crossings  float64
	errors     float64
}

func main() {} // required by -buildmode=c-shared; the host never calls it

func init() {
	strat.Register("go_ma_crossover", func(h *strat.Host) strat.Strategy { return &maCross{h: h} })
}

// readInt reads an integer key in [lo, hi], logging why it refuses one.
func (m *maCross) readInt(key string, def, lo, hi int64) (int, error) {
	v, err := m.h.Int(key, def)
	if err != nil {
		return 0, err
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("config key '%s' = %d is out of range [%d, %d]: %w", key, v, lo, hi, syscall.EINVAL)
	}
	return int(v), nil
}

func (m *maCross) Init() (err error) {
	if m.fast, err = m.readInt("fast", 5, 1, maxWindow); err != nil {
		return err
	}
	if m.slow, err = m.readInt("slow", 20, 2, maxWindow); err != nil {
		return err
	}
	if m.fast >= m.slow {
		return fmt.Errorf("config key 'fast' = %d must be smaller than 'slow' = %d: %w", m.fast, m.slow, syscall.EINVAL)
	}
	if m.orderSize, err = m.h.Float("order_size", 1.0); err != nil {
		return err
	}
	if !(m.orderSize > 0) || math.IsInf(m.orderSize, 0) {
		return fmt.Errorf("config key 'order_size' = %g must be > 0: %w", m.orderSize, syscall.EINVAL)
	}
	// The one big allocation: every symbol's price ring, up front.
	m.windows = make([]float64, maxSymbols*m.slow)
	m.syms = make(map[string]*symbolState, maxSymbols)
	m.orders = make(map[string]*order, maxOrders)
	return nil
}

// Start refuses to run without a successful Init.
func (m *maCross) Start() error {
	if m.windows == nil {
		return fmt.Errorf("not initialised: %w", syscall.EINVAL)
	}
	return nil
}

// state finds the symbol's state, adding it on first sight; nil when the
// table is full.
func (m *maCross) state(symbol string) *symbolState {
	if y, ok := m.syms[symbol]; ok {
		return y
	}
	if len(m.syms) == maxSymbols || symbol == "" {
		return nil
	}
	i := len(m.syms)
	y := &symbolState{prices: m.windows[i*m.slow : (i+1)*m.slow]}
	m.syms[symbol] = y
	return y
}

// meanOfLast averages the last n prices of the ring. O(n): keep running sums
// for windows of thousands.
func (m *maCross) meanOfLast(y *symbolState, n int) float64 {
	sum := 0.0
	for k := 1; k <= n; k++ {
		sum += y.prices[(y.head-k+m.slow)%m.slow]
	}
	return sum / float64(n)
}

func (m *maCross) OnMarketData(t *strat.Tick, out *strat.Signals) error {
	if !(t.Price > 0) || math.IsInf(t.Price, 0) {
		m.errors++
		return syscall.EINVAL // counted by the host; the next tick is handled normally
	}
	y := m.state(t.Symbol)
	if y == nil {
		m.errors++
		return syscall.ENOSPC
	}
	y.prices[y.head] = t.Price
	y.head = (y.head + 1) % m.slow
	if y.count < m.slow {
		y.count++
	}
	if y.count < m.slow {
		return nil // not enough history yet
	}

	fast, slow := m.meanOfLast(y, m.fast), m.meanOfLast(y, m.slow)
	side := 0
	if fast > slow {
		side = 1
	} else if fast < slow {
		side = -1
	}
	if side != 0 && side != y.side {
		if y.side != 0 { // a crossing: flip the target
			y.target = float64(side) * m.orderSize
			m.crossings++
		}
		y.side = side
	}

	// Trade the difference between the target and what we hold or have
	// already asked for; re-checked on every tick, so a rejected order is
	// simply sent again on the next one.
	delta := y.target - (y.position + y.pending)
	if math.Abs(delta) < qtyEps || out.Room() < 1 {
		return nil
	}
	if len(m.orders) == maxOrders {
		m.errors++
		return syscall.ENOSPC // cannot track another order, so do not send one
	}
	s := strat.Buy
	if delta < 0 {
		s = strat.Sell
	}
	id, err := out.Market(s, math.Abs(delta), t.Symbol)
	if err != nil {
		m.errors++
		return err
	}
	m.orders[id] = &order{sym: y, openQty: delta}
	y.pending += delta
	m.signals++
	return nil
}

// reduce takes up to |qty| (signed like the order) off order id; removes it
// when nothing is left open.
func (m *maCross) reduce(id string, o *order, qty float64) {
	take := o.openQty
	if math.Abs(qty) < math.Abs(o.openQty) {
		take = qty
	}
	o.openQty -= take
	o.sym.pending -= take
	if math.Abs(o.openQty) < qtyEps {
		o.sym.pending -= o.openQty // rounding dust
		delete(m.orders, id)
	}
}

func (m *maCross) OnFill(f *strat.Fill) error {
	if (f.Side != strat.Buy && f.Side != strat.Sell) || !(f.Qty > 0) {
		m.errors++
		return syscall.EINVAL
	}
	y := m.state(f.Symbol)
	if y == nil {
		m.errors++
		return syscall.ENOSPC
	}
	signed := f.Qty
	if f.Side == strat.Sell {
		signed = -f.Qty
	}
	y.position += signed
	// A fill of an order we do not know (sent before a restart) still counts
	// in the position, but has no pending quantity to reduce.
	if o, ok := m.orders[f.ClientOrderID]; ok {
		m.reduce(f.ClientOrderID, o, signed)
	}
	return nil
}

// OnOrderUpdate: a rejected or cancelled order will not fill any more, so it
// is no longer pending and the next tick sends what is still missing.
func (m *maCross) OnOrderUpdate(u *strat.OrderUpdate) error {
	if o, ok := m.orders[u.ClientOrderID]; ok {
		m.reduce(u.ClientOrderID, o, o.openQty)
	}
	return nil
}

func (m *maCross) Metrics(dst []strat.Metric) []strat.Metric {
	return append(dst,
		strat.Metric{Name: "signals_total", Value: m.signals},
		strat.Metric{Name: "crossings_total", Value: m.crossings},
		strat.Metric{Name: "errors_total", Value: m.errors},
		strat.Metric{Name: "symbols", Value: float64(len(m.syms))},
	)
}
