// Package strat writes engine strategies in Go: implement Strategy, call
// Register from an init function of a main package, and build it with
// `go build -buildmode=c-shared`; the .so then speaks the engine's native
// strategy ABI (plugins/include/strategy.h) and strategyd loads it like any
// plugin. plugins/go/ma_cross is the example to copy; README "Go strategies".
//
// The rules this package keeps for you, and the ones it cannot:
//   - Everything handed to a callback (the *Tick, *Fill, ... and Signals) is
//     reused for the next call: copy what you keep. Strings (symbols, order
//     ids) are ordinary Go strings and may be kept.
//   - Callbacks run on strategyd's one thread, one at a time, on the hot path:
//     never block, never sleep, and keep OnMarketData free of allocation where
//     you can (the package itself allocates nothing per tick).
//   - Do not start goroutines that call Host or Signals: the host is not
//     thread-safe and Signals is only valid during OnMarketData.
//   - A returned error is counted by the host (strategy_errors_total) and the
//     strategy carries on; an error from Init stops it from starting. A panic
//     is recovered, logged and counted as an error: it never crosses into C.
//   - One Go strategy per .so and per process: two Go runtimes in one process
//     do not work, and strategyd hosts one strategy per process anyway.
package strat

import (
	"errors"
	"syscall"
)

// Side of an order.
type Side int

// Order sides, as in strategy.h.
const (
	Buy  Side = 1
	Sell Side = 2
)

// Log levels, as in strategy.h.
type Level int

// Log levels.
const (
	Debug Level = 0
	Info  Level = 1
	Warn  Level = 2
	Error Level = 3
)

// Status of an order that will not fill (any more).
type Status int

// Order statuses of OrderUpdate.
const (
	Rejected  Status = 1
	Cancelled Status = 2
)

// Tick is one market-data update. Price is the strategy's price: the quote's
// mid, or the last trade when there is no quote.
type Tick struct {
	Symbol           string
	Price            float64
	Bid, Ask         float64 // valid when HasBidAsk
	BidSize, AskSize float64
	Last             float64 // valid when HasLast
	Volume           float64
	HasBidAsk        bool
	HasLast          bool
	TsNs             int64 // the source's timestamp, CLOCK_REALTIME ns
}

// Fill is an execution of one of this strategy's orders; Qty > 0.
type Fill struct {
	FillID        string
	ClientOrderID string
	Symbol        string
	Side          Side
	Qty, Price    float64
	TsNs          int64
}

// Position is what the engine holds for this strategy in one symbol; Qty is
// signed (negative: short).
type Position struct {
	Symbol   string
	Qty      float64
	AvgPrice float64
	TsNs     int64
}

// OrderUpdate says an order will not fill (any more): OpenQty never will.
type OrderUpdate struct {
	ClientOrderID string
	Symbol        string
	Status        Status
	OpenQty       float64
	Reason        string
}

// Metric is one value reported through the host's metrics.
type Metric struct {
	Name  string
	Value float64
}

// Strategy is what a Go strategy implements. The callbacks mirror
// strat_plugin_t (strategy.h); the optional ones are the interfaces below.
type Strategy interface {
	// Init reads the configuration (Host's getters) and checks it; an error
	// stops strategyd with that message, so name the key in it.
	Init() error
	// OnMarketData handles one tick and may add signals to out. It is called
	// only while the strategy is started. Signals added are sent even when it
	// then returns an error (their ids are handed out already); the error is
	// counted only when none was added.
	OnMarketData(t *Tick, out *Signals) error
	// OnFill handles an execution of one of this strategy's orders, started
	// or not (its orders may still execute after Stop).
	OnFill(f *Fill) error
}

// PositionUpdater receives the engine's positions: after a restart, before
// Start, for every symbol held from before; later, as the engine reports them.
type PositionUpdater interface {
	OnPositionUpdate(p *Position) error
}

// OrderUpdater learns that an order was rejected or cancelled.
type OrderUpdater interface {
	OnOrderUpdate(u *OrderUpdate) error
}

// Starter and Stopper are told when the host starts and stops the strategy.
// The package keeps the running state itself; these are for side effects.
type Starter interface {
	Start() error
}

// Stopper: see Starter.
type Stopper interface {
	Stop() error
}

// MetricsReporter appends its metrics to dst and returns it. Names should be
// constants: each distinct name is kept as a C string for the process's life
// (up to 256 names; metrics with further names are left out).
type MetricsReporter interface {
	Metrics(dst []Metric) []Metric
}

// Closer is told that the instance is being destroyed: release what the
// garbage collector does not (files, C memory).
type Closer interface {
	Close()
}

// Factory makes one strategy instance for the host h (kept for its life).
type Factory func(h *Host) Strategy

var registered struct {
	name    string
	factory Factory
}

// Register names the strategy this .so provides and how to make it. Call it
// once, from an init function of package main; a second call panics (at load
// time, which is when a mistake is cheapest).
func Register(name string, f Factory) {
	if name == "" || f == nil {
		panic("strat.Register: empty name or nil factory")
	}
	if registered.factory != nil {
		panic("strat.Register: called twice (" + registered.name + ", " + name + "): one strategy per .so")
	}
	registered.name, registered.factory = name, f
}

// ErrFull is returned by Signals when the host's buffer has no more room.
var ErrFull = errors.New("strat: signal buffer full")

// code turns an error into the negative code the host counts: a
// syscall.Errno (e.g. syscall.EINVAL) keeps its number, anything else is
// -EINVAL.
func code(err error) int {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) && e != 0 {
		return -int(e)
	}
	if errors.Is(err, ErrFull) {
		return -int(syscall.ENOSPC)
	}
	return -int(syscall.EINVAL)
}
