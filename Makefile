# The engine's one Makefile. `make` builds every program into bin/; `make test`,
# `make asan`, `make tsan` and `make bench` are described in README.md.
# Variants build into build/<variant>/ so they never mix objects:
#   BUILD=release (default), asan (ASan+UBSan), tsan (ThreadSanitizer).

BUILD   ?= release
OUT     := build/$(BUILD)
CC      ?= gcc
PKGS    := libconfig libmicrohttpd libsystemd
PKGS    += hiredis libuv libnats # ingest's live feeds (Redis on libuv, NATS)
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -g -MMD -MP -I. -D_GNU_SOURCE \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS_BASE := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lpthread -lrt -lm

ifeq ($(BUILD),asan)
  SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  OPT := -O1
else ifeq ($(BUILD),tsan)
  SAN := -fsanitize=thread -fno-omit-frame-pointer
  OPT := -O1
else
  SAN :=
  OPT := -O2
endif
CFLAGS  := $(CFLAGS_BASE) $(OPT) $(SAN) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN)
LDLIBS  := $(LDLIBS_BASE)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
# Live execution (gRPC core + protobuf-c), linked dynamically and only where used.
GRPC_LIBS := -Wl,--as-needed -lgrpc -lgpr -lprotobuf-c -Wl,--no-as-needed
LDLIBS  += $(GRPC_LIBS)
CFLAGS  += -I$(OUT)/proto
# strategyd embeds CPython (strategyd/python_host.c); what links libstrategyd needs libpython.
PY_CFLAGS := $(shell pkg-config --cflags python3-embed 2>/dev/null)
PY_LIBS   := $(shell pkg-config --libs python3-embed 2>/dev/null)

# The engine library: everything in common/ and shm/ except programs' mains.
LIB_SRC := $(wildcard common/*.c) $(filter-out shm/shmtool%.c,$(wildcard shm/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(OUT)/%.o)
LIB     := $(OUT)/libse.a

SHMTOOL_SRC := $(wildcard shm/shmtool*.c)

# Each process directory: main.c is the program, everything else its library
# (which its tests link against too).
PROC_DIRS := $(foreach d,ingest strategyd riskd execd supervisor,$(if $(filter-out $(d)/main.c,$(wildcard $(d)/*.c)),$(d)))
PROC_LIBS := $(foreach d,$(PROC_DIRS),$(OUT)/$(d)/lib$(d).a)
# A directory's program is named after it, except the supervisor's.
prog_name = $(if $(filter supervisor,$(1)),strategy-engine,$(1))
PROGRAMS  := $(OUT)/bin/shmtool $(foreach d,$(PROC_DIRS),$(if $(wildcard $(d)/main.c),$(OUT)/bin/$(call prog_name,$(d))))
PROGRAMS  += $(OUT)/bin/venue-sim
PROGRAMS  += $(OUT)/bin/md-publisher
PLUGINS   := $(patsubst plugins/c/%.c,plugins/%.so,$(wildcard plugins/c/*.c))
# Go strategies: every main package of the module plugins/go (all but the
# strat glue) becomes plugins/go_<dir>.so. See the rule below.
GO_PLUGINS := $(patsubst plugins/go/%/,plugins/go_%.so,$(filter-out plugins/go/strat/,$(wildcard plugins/go/*/)))
GO_SRC     := plugins/go/go.mod plugins/go/exports.map $(wildcard plugins/go/*/*.go plugins/go/*/*.[ch])

TEST_SRC  := $(wildcard tests/*/test_*.c)
TEST_BINS := $(TEST_SRC:%.c=$(OUT)/%)
# Tests written as scripts (tests/*/test_*.sh) run like the programs, through
# a link in the build directory (the script finds the source tree from it).
TEST_SCRIPTS := $(wildcard tests/*/test_*.sh)
TEST_BINS += $(TEST_SCRIPTS:%=$(OUT)/%)
TEST_SUPPORT_SRC := $(wildcard tests/support/*.c)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT_SRC:%.c=$(OUT)/%.o)
# Tests that make sense under ThreadSanitizer: the in-process ring tests, and
# the HTTP server and service threads.
TSAN_TESTS := $(OUT)/tests/shm/test_ring $(OUT)/tests/common/test_http $(OUT)/tests/common/test_service
TSAN_TESTS += $(OUT)/tests/ingest/test_hop # nats.c's thread -> ingest's loop

BENCH_BINS := $(patsubst tools/bench/%.c,$(OUT)/tools/bench/%,$(wildcard tools/bench/*.c))

.PHONY: all deps build test asan tsan valgrind bench bench-ring bench-strategy bench-risk bench-pipeline bench-supervisor run clean
.PHONY: bench-grpc
.PHONY: bench-redis
.PHONY: run-live
all: deps
	@$(MAKE) --no-print-directory build

deps:
	@tools/deps.sh

# Broken plugins that the plugin-loading tests must refuse.
TEST_PLUGINS := $(patsubst tests/strategyd/plugins/%.c,$(OUT)/tests/strategyd/plugins/%.so,\
                  $(wildcard tests/strategyd/plugins/*.c))
# Misbehaving Go strategies (tests/strategyd/go: a module of its own using plugins/go).
GO_TEST_PLUGINS := $(patsubst tests/strategyd/go/%/,$(OUT)/tests/strategyd/plugins/go_%.so,\
                     $(wildcard tests/strategyd/go/*/))

build: $(PROGRAMS) $(TEST_BINS) $(BENCH_BINS) $(PLUGINS) $(TEST_PLUGINS) $(GO_PLUGINS) $(GO_TEST_PLUGINS)
ifeq ($(BUILD),release)
	@mkdir -p bin
	@cp -f $(PROGRAMS) bin/
endif

# Plugins are built as their users would build them: position-independent,
# exporting only the ABI entry point.
plugins/%.so: plugins/c/%.c plugins/include/strategy.h
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -g -fPIC -shared -fvisibility=hidden \
	  -Iplugins/include $< -o $@

# A Go strategy is built as its users would build it (README "Go strategies"):
# go build -buildmode=c-shared, exporting only strat_plugin_entry (version
# script). Not instrumented in any variant. Offline and self-contained: the
# caches live in build/go, nothing is downloaded, no VCS stamping (a bare clone
# may lack what git needs). go also writes a C header beside the .so: unused.
GO_ENV := GOCACHE=$(CURDIR)/build/go/cache GOPATH=$(CURDIR)/build/go/path GOPROXY=off GOFLAGS=-mod=readonly \
          GOTOOLCHAIN=local CGO_ENABLED=1 CC="$(CC)"
# $(call go_plugin,MODULE_DIR,PACKAGE_DIR): builds $@.
go_plugin = cd $(1) && $(GO_ENV) go build -buildmode=c-shared -buildvcs=false -trimpath \
	  -ldflags='-extldflags=-Wl,--version-script=$(CURDIR)/plugins/go/exports.map' -o $(CURDIR)/$@ ./$(2) \
	  && rm -f $(CURDIR)/$(@:.so=.h)
plugins/go_%.so: $(GO_SRC) plugins/include/strategy.h
	$(call go_plugin,plugins/go,$*)

# Misbehaving Go strategies for the tests: see the rule below.
$(OUT)/tests/strategyd/plugins/go_%.so: $(GO_SRC) plugins/include/strategy.h tests/strategyd/go/go.mod \
                                        $(wildcard tests/strategyd/go/*/*.go)
	@mkdir -p $(dir $@)
	$(call go_plugin,tests/strategyd/go,$*)

$(OUT)/tests/strategyd/plugins/%.so: tests/strategyd/plugins/%.c plugins/include/strategy.h \
                                  tests/strategyd/plugins/fixture.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -g -fPIC -shared -fvisibility=hidden \
	  -Iplugins/include $< -o $@

$(OUT)/tests/%.sh: tests/%.sh
	@mkdir -p $(dir $@)
	ln -sf $(abspath $<) $@

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(OUT)/bin/shmtool: $(SHMTOOL_SRC:%.c=$(OUT)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

define proc_rules
$(OUT)/$(1)/lib$(1).a: $(patsubst %.c,$(OUT)/%.o,$(filter-out $(1)/main.c,$(wildcard $(1)/*.c)))
	@mkdir -p $$(dir $$@)
	$$(AR) rcs $$@ $$^
$(OUT)/bin/$(call prog_name,$(1)): $(OUT)/$(1)/main.o $(OUT)/$(1)/lib$(1).a $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(PROC_DIRS),$(eval $(call proc_rules,$(d))))
$(OUT)/strategyd/python_host.o: CFLAGS += $(PY_CFLAGS)
$(OUT)/bin/strategyd $(TEST_BINS) $(BENCH_BINS): LDLIBS += $(PY_LIBS) -lseccomp # strategyd/sandbox.c

# proto/*.proto -> C messages (protoc-c; its own RPC stubs are unused) and a
# descriptor set for the Python interoperability tests, in build/<v>/proto/.
PROTO_H := $(OUT)/proto/execution.pb-c.h
$(OUT)/proto/%.pb-c.c $(OUT)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c -Iproto --c_out=$(OUT)/proto --descriptor_set_out=$(OUT)/proto/$*.desc $<
$(OUT)/proto/%.pb-c.o: $(OUT)/proto/%.pb-c.c
	$(CC) $(CFLAGS) -c $< -o $@
$(patsubst %.c,$(OUT)/%.o,$(wildcard execd/*.c tools/venue-sim/*.c)): | $(PROTO_H)
$(OUT)/execd/libexecd.a: $(OUT)/proto/execution.pb-c.o

# bin/venue-sim: the gRPC venue simulator (tools/venue-sim/, README "Live execution").
$(OUT)/bin/venue-sim: $(patsubst %.c,$(OUT)/%.o,$(wildcard tools/venue-sim/*.c)) \
                      $(OUT)/proto/execution.pb-c.o $(OUT)/ingest/libingest.a $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lhiredis -lnats $(LDLIBS)

# bin/md-publisher: synthetic market data on Redis for live mode (make run-live).
$(OUT)/bin/md-publisher: $(patsubst %.c,$(OUT)/%.o,$(wildcard tools/md-publisher/*.c)) \
                         $(OUT)/ingest/libingest.a $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/tests/%: $(OUT)/tests/%.o $(TEST_SUPPORT_OBJ) $(PROC_LIBS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(OUT)/tools/bench/%: $(OUT)/tools/bench/%.o $(PROC_LIBS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ -lzmq $(LDLIBS)

# Every test binary runs in its own process with check's fork mode on; the
# runner prints one summary line and fails if any test failed.
test: deps
	@$(MAKE) --no-print-directory build
	@SHMTOOL=$(OUT)/bin/shmtool SE_BIN_DIR=$(OUT)/bin SE_TEST_PLUGINS=$(OUT)/tests/strategyd/plugins tests/run.sh $(OUT) $(TEST_BINS:$(OUT)/%=%)

asan: deps
	@$(MAKE) --no-print-directory BUILD=asan build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  CK_TIMEOUT_MULTIPLIER=4 SHMTOOL=build/asan/bin/shmtool SE_BIN_DIR=build/asan/bin \
	  SE_TEST_PLUGINS=build/asan/tests/strategyd/plugins \
	  tests/run.sh build/asan $(TEST_BINS:$(OUT)/%=%)

# The single-process unit suites under valgrind (check's fork mode off so
# valgrind follows the tests; the cross-process stress suite is left to ASan).
VALGRIND_TESTS := tests/common/test_config tests/common/test_log tests/shm/test_ring \
                  tests/shm/test_settings tests/shm/test_stats tests/ingest/test_validate \
                  tests/strategyd/test_momentum tests/strategyd/test_market_making \
                  tests/strategyd/test_scalping tests/strategyd/test_example_plugin \
                  tests/strategyd/test_go_plugin \
                  tests/strategyd/test_host tests/common/test_records tests/riskd/test_aggregator \
                  tests/riskd/test_book tests/riskd/test_checks tests/execd/test_sim \
                  tests/ingest/test_synthetic tests/common/test_http tests/common/test_service \
                  tests/riskd/test_health tests/riskd/test_watch
VALGRIND_TESTS += tests/execd/test_journal tests/execd/test_breaker tests/execd/test_limits
VALGRIND_TESTS += tests/strategyd/test_python
VALGRIND_TESTS += tests/riskd/test_recovery tests/strategyd/test_order_track
VALGRIND_TESTS += tests/supervisor/test_policy
VALGRIND_TESTS += tests/ingest/test_dedupe tests/ingest/test_hop tests/ingest/test_reply_pool
valgrind: deps
	@$(MAKE) --no-print-directory build
	@CK_FORK=no CK_TIMEOUT_MULTIPLIER=10 TEST_WRAPPER="valgrind -q --error-exitcode=1 \
	  --suppressions=tests/valgrind.supp \
	  --leak-check=full --errors-for-leak-kinds=definite" tests/run.sh $(OUT) $(VALGRIND_TESTS)

tsan: deps
	@$(MAKE) --no-print-directory BUILD=tsan $(TSAN_TESTS:$(OUT)/%=build/tsan/%)
	@TSAN_OPTIONS=halt_on_error=1 CK_TIMEOUT_MULTIPLIER=6 \
	  tests/run.sh build/tsan $(TSAN_TESTS:$(OUT)/%=%)

bench: bench-ring bench-strategy bench-risk bench-pipeline bench-grpc bench-supervisor
bench: bench-redis

bench-ring: deps
	@$(MAKE) --no-print-directory build
	@mkdir -p bench/results
	$(OUT)/tools/bench/bench_ring --json bench/results/ring.json

bench-strategy: deps
	@$(MAKE) --no-print-directory build
	@mkdir -p bench/results
	$(OUT)/tools/bench/bench_strategy --json bench/results/strategy.json

bench-risk: deps
	@$(MAKE) --no-print-directory build
	@mkdir -p bench/results
	$(OUT)/tools/bench/bench_risk --json bench/results/risk.json

bench-pipeline: deps
	@$(MAKE) --no-print-directory build
	tools/bench/bench_pipeline.sh $(OUT)/bin

bench-grpc: deps
	@$(MAKE) --no-print-directory build
	@mkdir -p bench/results
	$(OUT)/tools/bench/bench_grpc --bin $(OUT)/bin --json bench/results/grpc.json

bench-supervisor: deps
	@$(MAKE) --no-print-directory build
	@mkdir -p bench/results
	$(OUT)/tools/bench/bench_supervisor --bin $(OUT)/bin --plugins $(OUT)/tests/strategyd/plugins \
	  --json bench/results/supervisor.json

# ingest's Redis feed: PUBLISH at 50k-400k msgs/s and flat out, losses and publish -> `in` latency.
bench-redis: deps
	@$(MAKE) --no-print-directory build
	@mkdir -p bench/results
	$(OUT)/tools/bench/bench_redis --bin $(OUT)/bin --json bench/results/redis.json

# The whole pipeline in simulation mode with a live view; Ctrl-C stops it.
run: deps
	@$(MAKE) --no-print-directory build
	@tools/run.sh etc/strategy-engine.conf bin

# The engine in live mode against local redis-server, nats-server (JetStream),
# bin/venue-sim and bin/md-publisher, with the same live view; Ctrl-C stops all.
run-live: deps
	@$(MAKE) --no-print-directory build
	@tools/run_live.sh etc/strategy-engine-live.conf bin

clean:
	rm -rf build bin $(PLUGINS) $(GO_PLUGINS)

-include $(shell find build -name '*.d' 2>/dev/null)
