// signals.go -- Signals: the host's output buffer of one OnMarketData call,
// written in place (strat_signal_t of strategy.h), with order ids from the host.

package strat

/*
#include "abi.h"
*/
import "C"

import (
	"fmt"
	"math"
	"syscall"
	"unsafe"
)

// Signals is where OnMarketData puts its orders and cancels: the host's own
// buffer, valid only during that call. Nothing is sent before the callback
// returns (then all of them are, even if it returns an error).
type Signals struct {
	h   *Host
	buf *C.strat_signal_t
	max int
	n   int
}

// Len is the number of signals written so far in this call.
func (s *Signals) Len() int { return s.n }

// Room is how many more signals fit.
func (s *Signals) Room() int { return s.max - s.n }

// next claims the next slot, zeroed, or nil when full.
func (s *Signals) next() *C.strat_signal_t {
	if s.n >= s.max {
		return nil
	}
	sig := (*C.strat_signal_t)(unsafe.Add(unsafe.Pointer(s.buf), uintptr(s.n)*unsafe.Sizeof(*s.buf)))
	*sig = C.strat_signal_t{}
	return sig
}

// Market sends a MARKET order for qty (> 0) of symbol ("" for the tick's)
// and returns its client_order_id: fills, rejects and cancels of the order
// carry it. ErrFull when the buffer has no room; a wrapped syscall.EINVAL for
// a bad side, quantity or symbol.
func (s *Signals) Market(side Side, qty float64, symbol string) (string, error) {
	return s.order(side, C.STRAT_MARKET, qty, 0, symbol)
}

// Limit sends a LIMIT order for qty (> 0) at price (> 0); see Market.
func (s *Signals) Limit(side Side, qty, price float64, symbol string) (string, error) {
	if !(price > 0) || math.IsInf(price, 0) {
		return "", fmt.Errorf("limit price %g must be > 0: %w", price, syscall.EINVAL)
	}
	return s.order(side, C.STRAT_LIMIT, qty, price, symbol)
}

func (s *Signals) order(side Side, typ C.int, qty, price float64, symbol string) (string, error) {
	if side != Buy && side != Sell {
		return "", fmt.Errorf("side %d is neither Buy nor Sell: %w", side, syscall.EINVAL)
	}
	if !(qty > 0) || math.IsInf(qty, 0) {
		return "", fmt.Errorf("quantity %g must be > 0: %w", qty, syscall.EINVAL)
	}
	if len(symbol) >= C.STRAT_SYMBOL_MAX {
		return "", fmt.Errorf("symbol %q is longer than %d bytes: %w", symbol, C.STRAT_SYMBOL_MAX-1, syscall.EINVAL)
	}
	sig := s.next()
	if sig == nil {
		return "", ErrFull
	}
	sig.action = C.STRAT_NEW
	sig.side = C.int(side)
	sig._type = typ
	sig.qty = C.double(qty)
	sig.price = C.double(price)
	copyString(sig.symbol[:], symbol)
	C.strat_go_new_order_id(s.h.c, &sig.client_order_id[0])
	s.n++
	return C.GoString(&sig.client_order_id[0]), nil
}

// Cancel asks to cancel the order clientOrderID of symbol.
func (s *Signals) Cancel(clientOrderID, symbol string) error {
	if clientOrderID == "" || len(clientOrderID) >= C.STRAT_ID_MAX {
		return fmt.Errorf("client_order_id %q must be 1-%d bytes: %w", clientOrderID, C.STRAT_ID_MAX-1, syscall.EINVAL)
	}
	if len(symbol) >= C.STRAT_SYMBOL_MAX {
		return fmt.Errorf("symbol %q is longer than %d bytes: %w", symbol, C.STRAT_SYMBOL_MAX-1, syscall.EINVAL)
	}
	sig := s.next()
	if sig == nil {
		return ErrFull
	}
	sig.action = C.STRAT_CANCEL
	copyString(sig.symbol[:], symbol)
	copyString(sig.client_order_id[:], clientOrderID)
	s.n++
	return nil
}

// copyString writes s and a NUL into dst, which the callers have checked is
// long enough.
func copyString(dst []C.char, s string) {
	for i := 0; i < len(s); i++ {
		dst[i] = C.char(s[i])
	}
	dst[len(s)] = 0
}
