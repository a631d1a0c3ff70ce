// host.go -- the host's side as Go sees it: configuration, logging, the
// engine's clock (strat_host_t of strategy.h, through the shims of abi.c).

package strat

/*
// The engine's warning flags for abi.c; cgo's own generated wrappers have
// unused parameters, hence the one exception.
#cgo CFLAGS: -I${SRCDIR}/../../include -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror -fvisibility=hidden
#include <stdlib.h>
#include "abi.h"
*/
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"
)

// Host is the engine as one strategy instance sees it. Valid for the
// instance's life; use it only from the callbacks (one thread).
type Host struct {
	c *C.strat_host_t
	// Name is the instance name from strategies.enabled: the configuration
	// group is strategies.configs.<Name>, order ids start with it.
	Name string
}

func newHost(c *C.strat_host_t) *Host {
	h := &Host{c: c}
	if c.instance_name != nil {
		h.Name = C.GoString(c.instance_name)
	}
	return h
}

// configErr reports a getter's failure: the host has already logged file,
// line and key; the strategy gets an error naming the key to return from Init.
func configErr(key, want string, rc C.int) error {
	return fmt.Errorf("config key '%s' must be %s: %w", key, want, syscall.Errno(-rc))
}

// Float reads strategies.configs.<Name>.<key> as a number (integers too),
// def when absent.
func (h *Host) Float(key string, def float64) (float64, error) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	var v C.double
	if rc := C.strat_go_config_double(h.c, k, C.double(def), &v); rc < 0 {
		return def, configErr(key, "a number", rc)
	}
	return float64(v), nil
}

// Int reads an integer key (an integral float is accepted), def when absent.
func (h *Host) Int(key string, def int64) (int64, error) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	var v C.int64_t
	if rc := C.strat_go_config_int(h.c, k, C.int64_t(def), &v); rc < 0 {
		return def, configErr(key, "an integer", rc)
	}
	return int64(v), nil
}

// Bool reads a boolean key, def when absent.
func (h *Host) Bool(key string, def bool) (bool, error) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	d, v := C.int(0), C.int(0)
	if def {
		d = 1
	}
	if rc := C.strat_go_config_bool(h.c, k, d, &v); rc < 0 {
		return def, configErr(key, "a boolean", rc)
	}
	return v != 0, nil
}

// String reads a string key, def when absent.
func (h *Host) String(key, def string) (string, error) {
	k, d := C.CString(key), C.CString(def)
	defer C.free(unsafe.Pointer(k))
	defer C.free(unsafe.Pointer(d))
	var v *C.char
	if rc := C.strat_go_config_string(h.c, k, d, &v); rc < 0 {
		return def, configErr(key, "a string", rc)
	}
	return C.GoString(v), nil
}

// Log writes one line through the engine's log. Rare events only: it
// allocates, and the engine's log is not meant for every tick.
func (h *Host) Log(level Level, msg string) {
	m := C.CString(msg)
	C.strat_go_log(h.c, C.int(level), m)
	C.free(unsafe.Pointer(m))
}

// Logf formats a line prefixed with the instance name and logs it.
func (h *Host) Logf(level Level, format string, args ...any) {
	h.Log(level, h.Name+": "+fmt.Sprintf(format, args...))
}

// Now is the engine's clock (CLOCK_REALTIME ns): during a callback, the time
// of the event being handled, so timers behave the same live and in a replay.
func (h *Host) Now() int64 {
	return int64(C.strat_go_now_ns(h.c))
}
