// export.go -- the Go callbacks behind abi.c's strat_plugin_t: each finds the
// instance by its handle, converts the host's C records into the Go types
// (without allocating per tick), calls the Strategy, and turns errors and
// panics into the negative codes the host counts.

package strat

/*
#include <stdlib.h>
#include "abi.h"
*/
import "C"

import (
	"runtime/cgo"
	"syscall"
	"unsafe"
)

// maxInterned bounds the symbols kept as Go strings per instance; past it a
// symbol string is allocated on every tick (correct, only slower).
const maxInterned = 4096

// maxPanicLogs bounds the log lines of recovered panics: a strategy that
// panics on every tick must not flood the engine's log.
const maxPanicLogs = 10

// instance is one strategy instance: what the host's state handle names.
type instance struct {
	s       Strategy
	host    *Host
	running bool
	// Reused for every call: the package allocates nothing per tick.
	tick    Tick
	fill    Fill
	pos     Position
	upd     OrderUpdate
	signals Signals
	symbols map[string]string // interned symbols: C bytes -> the one Go string
	metrics []Metric
	cnames  map[string]*C.char // metric names handed to the host (strat_go_static_name)
	panics  int
}

var cName *C.char // the registered name as a C string, made once

//export goStratName
func goStratName() *C.char {
	if registered.factory == nil {
		return nil
	}
	if cName == nil {
		cName = C.CString(registered.name)
	}
	return cName
}

//export goStratCreate
func goStratCreate(host *C.strat_host_t) (h C.uintptr_t) {
	in := &instance{host: newHost(host), symbols: make(map[string]string)}
	defer func() {
		if p := recover(); p != nil {
			in.recovered("create", p)
			h = 0
		}
	}()
	in.signals.h = in.host
	if in.s = registered.factory(in.host); in.s == nil {
		in.host.Logf(Error, "strategy factory returned nil")
		return 0
	}
	return C.uintptr_t(cgo.NewHandle(in))
}

func get(h C.uintptr_t) *instance {
	return cgo.Handle(h).Value().(*instance)
}

// recovered logs a recovered panic (the first maxPanicLogs of them).
func (in *instance) recovered(where string, p any) {
	in.panics++
	if in.panics > maxPanicLogs {
		return
	}
	last := ""
	if in.panics == maxPanicLogs {
		last = "; further panics are not logged"
	}
	in.host.Logf(Error, "panic in %s (recovered, counted as an error%s): %v", where, last, p)
}

// rc is the deferred tail of every callback: a panic becomes -EFAULT (so the
// host also discards the signals of a call that panicked).
func (in *instance) rc(where string, out *C.int) {
	if p := recover(); p != nil {
		in.recovered(where, p)
		*out = -C.int(syscall.EFAULT)
	}
}

//export goStratInit
func goStratInit(h C.uintptr_t) (rc C.int) {
	in := get(h)
	defer in.rc("Init", &rc)
	if err := in.s.Init(); err != nil {
		in.host.Logf(Error, "init: %v", err)
		return C.int(code(err))
	}
	return 0
}

// symbol returns the C string p (at most STRAT_SYMBOL_MAX-1 bytes) as a Go
// string, interned so that a known symbol costs no allocation; ok is false for
// NULL or an unterminated symbol.
func (in *instance) symbol(p *C.char) (string, bool) {
	if p == nil {
		return "", false
	}
	// Scan for the NUL byte by byte: reading a fixed 16 bytes could pass the
	// end of a shorter string.
	n := 0
	for n < C.STRAT_SYMBOL_MAX && *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	if n == C.STRAT_SYMBOL_MAX {
		return "", false
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
	if s, ok := in.symbols[string(b)]; ok { // the compiler does not allocate for this lookup
		return s, true
	}
	s := string(b)
	if len(in.symbols) < maxInterned {
		in.symbols[s] = s
	}
	return s, true
}

//export goStratMarketData
func goStratMarketData(h C.uintptr_t, t *C.strat_tick_t, out *C.strat_signal_t, maxOut C.int) (rc C.int) {
	in := get(h)
	if !in.running {
		return 0
	}
	defer in.rc("OnMarketData", &rc)
	// Runs first (defers are LIFO), panic or not: a Signals kept past the
	// call is full, never a pointer into a buffer the host has reused.
	defer func() { in.signals.buf, in.signals.max, in.signals.n = nil, 0, 0 }()
	sym, ok := in.symbol(t.symbol)
	if !ok {
		return -C.int(syscall.EINVAL)
	}
	in.tick = Tick{
		Symbol:    sym,
		Price:     float64(t.price),
		Bid:       float64(t.bid),
		Ask:       float64(t.ask),
		BidSize:   float64(t.bid_size),
		AskSize:   float64(t.ask_size),
		Last:      float64(t.last),
		Volume:    float64(t.volume),
		HasBidAsk: t.flags&C.STRAT_TICK_HAS_BIDASK != 0,
		HasLast:   t.flags&C.STRAT_TICK_HAS_LAST != 0,
		TsNs:      int64(t.ts_ns),
	}
	in.signals.buf, in.signals.max, in.signals.n = out, int(maxOut), 0
	err := in.s.OnMarketData(&in.tick, &in.signals)
	n := in.signals.n
	if err != nil {
		// Signals already written would be lost with a negative return, and
		// the strategy counts them as pending: report the error only when
		// nothing was written (the strategy may log it itself).
		if n == 0 {
			return C.int(code(err))
		}
	}
	return C.int(n)
}

//export goStratFill
func goStratFill(h C.uintptr_t, f *C.strat_fill_t) (rc C.int) {
	in := get(h)
	defer in.rc("OnFill", &rc)
	sym, ok := in.symbol(f.symbol)
	if !ok {
		return -C.int(syscall.EINVAL)
	}
	in.fill = Fill{
		FillID:        goString(f.fill_id),
		ClientOrderID: goString(f.client_order_id),
		Symbol:        sym,
		Side:          Side(f.side),
		Qty:           float64(f.qty),
		Price:         float64(f.price),
		TsNs:          int64(f.ts_ns),
	}
	return C.int(code(in.s.OnFill(&in.fill)))
}

//export goStratPosition
func goStratPosition(h C.uintptr_t, p *C.strat_position_t) (rc C.int) {
	in := get(h)
	u, ok := in.s.(PositionUpdater)
	if !ok {
		return 0
	}
	defer in.rc("OnPositionUpdate", &rc)
	sym, ok := in.symbol(p.symbol)
	if !ok {
		return -C.int(syscall.EINVAL)
	}
	in.pos = Position{Symbol: sym, Qty: float64(p.qty), AvgPrice: float64(p.avg_price), TsNs: int64(p.ts_ns)}
	return C.int(code(u.OnPositionUpdate(&in.pos)))
}

//export goStratOrderUpdate
func goStratOrderUpdate(h C.uintptr_t, p *C.strat_order_update_t) (rc C.int) {
	in := get(h)
	u, ok := in.s.(OrderUpdater)
	if !ok {
		return 0
	}
	defer in.rc("OnOrderUpdate", &rc)
	sym, ok := in.symbol(p.symbol)
	if !ok {
		return -C.int(syscall.EINVAL)
	}
	in.upd = OrderUpdate{
		ClientOrderID: goString(p.client_order_id),
		Symbol:        sym,
		Status:        Status(p.status),
		OpenQty:       float64(p.open_qty),
		Reason:        goString(p.reason),
	}
	return C.int(code(u.OnOrderUpdate(&in.upd)))
}

//export goStratStart
func goStratStart(h C.uintptr_t) (rc C.int) {
	in := get(h)
	defer in.rc("Start", &rc)
	if s, ok := in.s.(Starter); ok {
		if err := s.Start(); err != nil {
			in.host.Logf(Error, "start: %v", err)
			return C.int(code(err))
		}
	}
	in.running = true
	return 0
}

//export goStratStop
func goStratStop(h C.uintptr_t) (rc C.int) {
	in := get(h)
	in.running = false // stopped even if the hook fails: nothing more is sent
	defer in.rc("Stop", &rc)
	if s, ok := in.s.(Stopper); ok {
		return C.int(code(s.Stop()))
	}
	return 0
}

//export goStratIsRunning
func goStratIsRunning(h C.uintptr_t) C.int {
	if get(h).running {
		return 1
	}
	return 0
}

//export goStratMetrics
func goStratMetrics(h C.uintptr_t, out *C.strat_metric_t, maxOut C.int) (rc C.int) {
	in := get(h)
	r, ok := in.s.(MetricsReporter)
	if !ok || maxOut <= 0 {
		return 0
	}
	defer in.rc("Metrics", &rc)
	in.metrics = r.Metrics(in.metrics[:0])
	dst := unsafe.Slice(out, int(maxOut))
	n := 0
	for _, m := range in.metrics {
		if n == len(dst) {
			break
		}
		name, ok := in.cnames[m.Name]
		if !ok {
			if in.cnames == nil {
				in.cnames = make(map[string]*C.char)
			}
			tmp := C.CString(m.Name)
			name = C.strat_go_static_name(tmp)
			C.free(unsafe.Pointer(tmp))
			if name == nil {
				continue // past STRAT_GO_NAMES_MAX distinct names: not reported
			}
			in.cnames[m.Name] = name
		}
		dst[n] = C.strat_metric_t{name: name, value: C.double(m.Value)}
		n++
	}
	return C.int(n)
}

//export goStratRun
func goStratRun(body C.strat_go_body_fn, arg unsafe.Pointer) C.int {
	// Called on the host's thread, which stays locked to this goroutine's M
	// for the callback; the loop's own callbacks then find that M in place.
	return C.strat_go_call_body(body, arg)
}

//export goStratDestroy
func goStratDestroy(h C.uintptr_t) {
	handle := cgo.Handle(h)
	in := handle.Value().(*instance)
	defer func() {
		if p := recover(); p != nil {
			in.recovered("destroy", p)
		}
		handle.Delete()
	}()
	if c, ok := in.s.(Closer); ok {
		c.Close()
	}
}

func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}
