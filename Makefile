# hybridgate — plain GNU make with pkg-config. `make help` lists the targets.
# Every src/<room>/*.c is part of the gateway; tests/unit/**/*.c are unit suites that register
# themselves (tests/unit/test.h), so adding a file needs no edit here.

CC      ?= cc
BUILD   ?= build
PKGS    := libevent libevent_pthreads libcurl libcjson yaml-0.1 libhs sqlite3 libpq libcrypto
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef \
           -Wpointer-arith -Wcast-align -Wnull-dereference -Werror
OPT     ?= -O2
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lpthread -lm
ifdef SAN
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -path src/main.c 2>/dev/null))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(shell find tests/unit -name '*.c' 2>/dev/null))
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
BENCH_SRC:= $(sort $(wildcard bench/bench_*.c))
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
WEB_SRC  := $(sort $(wildcard web/*))

.PHONY: clang all deps run test unit e2e bench asan valgrind fuzz format lint gen clean help
all: $(BUILD)/hybridgate

help:
	@echo "make            build $(BUILD)/hybridgate"
	@echo "make run        install deps, build, start the gateway on config/hybridgate.yaml with a local model"
	@echo "make test       install deps, build, run unit, e2e and a short fuzz run"
	@echo "make unit|e2e   one half of the tests"
	@echo "make bench      benchmarks: scanner, routing, gateway vs nginx floor and Portkey"
	@echo "make asan       unit + e2e under AddressSanitizer and UBSan"
	@echo "make fuzz       libFuzzer drivers (FUZZ_SECONDS=60 by default)"
	@echo "make format | lint | gen | clean;  V=1 shows commands"

deps:
	$(Q)scripts/deps.sh

$(BUILD)/gen/web_assets.c: $(WEB_SRC) scripts/embed.sh
	$(Q)mkdir -p $(@D)
	$(Q)scripts/embed.sh $@ $(WEB_SRC)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	$(Q)$(CC) -std=c11 -O1 -c -o $@ $<

# The scanner's name and place dictionaries, derived from an npm package at build time.
$(BUILD)/gen/names.c: scripts/names/gen.sh scripts/names/gen.py scripts/names/dump.mjs scripts/names/words.mjs
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)scripts/names/gen.sh $@

$(BUILD)/gen/names.o: $(BUILD)/gen/names.c
	$(Q)$(CC) -std=c11 -O1 -Isrc $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/libhg.a: $(LIB_OBJ) $(BUILD)/gen/web_assets.o $(BUILD)/gen/names.o
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/hybridgate: $(BUILD)/src/main.o $(BUILD)/libhg.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_OBJ) $(BUILD)/libhg.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench_%: $(BUILD)/bench/bench_%.o $(BUILD)/libhg.a
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The same sources must build warning-free with clang too (house rule); build/clang is separate.
clang:
	$(Q)$(MAKE) --no-print-directory CC=clang BUILD=build/clang all

unit: $(BUILD)/unit_tests
	$(Q)$(BUILD)/unit_tests

e2e: $(BUILD)/hybridgate
	$(Q)HYBRIDGATE_BIN=$(abspath $(BUILD)/hybridgate) python3 tests/e2e/run.py $(E2E)

test: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/unit_tests
	$(Q)$(MAKE) --no-print-directory clang
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)HYBRIDGATE_BIN=$(abspath $(BUILD)/hybridgate) sh tests/scan/run.sh
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-10}

asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan SAN=1 OPT=-O1 all build/asan/unit_tests
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 build/asan/unit_tests
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 HYBRIDGATE_ASAN=1 \
	   HYBRIDGATE_BIN=$(abspath build/asan/hybridgate) python3 tests/e2e/run.py $(E2E)

valgrind: $(BUILD)/unit_tests
	$(Q)valgrind --error-exitcode=1 --leak-check=full $(BUILD)/unit_tests

# deps first, then a sub-make: pkg-config flags are read after the packages exist (fresh machine)
bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BIN)
	$(Q)for b in $(BENCH_BIN); do $$b || exit 1; done
	$(Q)bench/ir_share.sh
	$(Q)bench/metrics_overhead.sh
	$(Q)bench/store_overhead.sh
	$(Q)bench/gateway.sh

FUZZ_SECONDS ?= 60
FUZZ_SAN    = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(FUZZ_SAN)
FUZZ_OBJ    = $(LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_BIN    = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

# The library is compiled once with coverage instrumentation; each driver links against it.
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libhg.a: $(FUZZ_OBJ) $(BUILD)/gen/web_assets.c $(BUILD)/gen/names.c
	$(Q)clang -std=c11 -O1 -c -o build/fuzz/obj/web_assets.o $(BUILD)/gen/web_assets.c
	$(Q)clang $(FUZZ_CFLAGS) -c -o build/fuzz/obj/names.o $(BUILD)/gen/names.c
	$(Q)rm -f $@ && ar rcs $@ $(FUZZ_OBJ) build/fuzz/obj/web_assets.o build/fuzz/obj/names.o

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libhg.a
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libhg.a $(PKG_LIBS) -lpthread -lm

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BIN)
	$(Q)for n in $(notdir $(FUZZ_BIN)); do \
	  echo "  FUZZ    $$n ($(FUZZ_SECONDS)s)"; \
	  mkdir -p build/fuzz/corpus-$$n; \
	  seeds=""; [ -d tests/fuzz/corpus/$$n ] && seeds=tests/fuzz/corpus/$$n; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 build/fuzz/corpus-$$n $$seeds \
	    >build/fuzz/$$n.log 2>&1 || { tail -40 build/fuzz/$$n.log; exit 1; }; \
	  grep -E "^Done|stat::number_of_executed_units" build/fuzz/$$n.log | tail -1; \
	done

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/run.sh

format:
	$(Q)clang-format -i $(LIB_SRC) src/main.c $(shell find src tests/unit bench tests/fuzz -name '*.[ch]')

lint:
	$(Q)cppcheck --quiet --std=c11 --enable=warning,performance,portability --inline-suppr \
	   --error-exitcode=1 -Isrc src

gen:
	$(Q)scripts/gen.sh

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
