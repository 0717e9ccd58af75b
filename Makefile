# driftgate top-level Makefile. Out-of-tree objects under $(BUILD).
#   make            build build/driftgate (gcc, -Wall -Wextra -Werror)
#   make test       deps, gcc + clang builds, unit tests, ASan+UBSan unit tests,
#                   conformance suites, CLI tests, integration tests (plain and
#                   with an ASan+UBSan driftgate)
#   make asan       ASan+UBSan build and unit tests only
#   make tsan       ThreadSanitizer build under load, reloads and shutdown
#   make bench      validator vs ajv, then proxy vs nginx and Prism (bench/README.md)
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each, default 60)
#   make demo       nginx serving a drifted v2 API, driftgate in front, reports in demo-out/ (demo/README.md)
#   make deb        build/driftgate_<version>-1_<arch>.deb (packaging/README.md)
#   make install    PREFIX=/usr/local

CC      ?= gcc
BUILD   ?= build
PREFIX  ?= /usr/local
VERSION := 0.1.0
SAN     ?=
FUZZ_SECONDS ?= 60

PKGS    := jansson yaml-0.1 libpcre2-8 libevent libevent_openssl libevent_pthreads libssl libcrypto zlib \
           sqlite3 libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
OPT     ?= -O2
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -I. $(PKG_CFLAGS) -DDG_VERSION=\"$(VERSION)\" $(CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lm -lpthread $(LDLIBS)

ifeq ($(SAN),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC := $(wildcard common/*.c) $(wildcard validate/*.c) $(wildcard policies/*.c) \
           $(wildcard proxy/*.c) $(wildcard analyze/*.c) $(filter-out cmd/main.c,$(wildcard cmd/*.c))
GEN_SRC := $(BUILD)/gen/config_schema.c $(BUILD)/gen/explanation_schema.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_SRC:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
MAIN_OBJ := $(BUILD)/obj/cmd/main.o
LIB     := $(BUILD)/libdriftgate.a
BIN     := $(BUILD)/driftgate

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
CONF_BIN := $(BUILD)/tests/conformance

.PHONY: all deps test asan bench fuzz demo clean install unit conformance cli-test clang-check integration oom store-crash report-test demo-test dashboards-test deb packaging-test tsan
all: $(BIN)

deps:
	@./scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The config file's JSON Schema is compiled into the binary.
$(BUILD)/gen/config_schema.c: policies/config.schema.json scripts/embed.sh
	@mkdir -p $(dir $@)
	./scripts/embed.sh dg_config_schema_json $< > $@

# ... and so is the schema of a model's drift explanations.
$(BUILD)/gen/explanation_schema.c: analyze/explanation.schema.json scripts/embed.sh
	@mkdir -p $(dir $@)
	./scripts/embed.sh dg_explanation_schema_json $< > $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $< $(LIB) -lcriterion $(LDLIBS_ALL)

$(CONF_BIN): tests/conformance/conformance.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2 --short-filename; done

conformance: $(CONF_BIN) $(BIN)
	$(CONF_BIN) --suite ../shared/testdata/JSON-Schema-Test-Suite --skips tests/conformance/skips.txt

cli-test: $(BIN)
	DRIFTGATE=$(BIN) ./tests/cli/run.sh

# Real servers on 127.0.0.1 (nginx over HTTP and HTTPS, a misbehaving
# upstream, Prometheus) in front of which driftgate runs: tests/integration.
integration: $(BIN)
	DRIFTGATE=$(BIN) ./tests/integration/run.sh

# Allocation-failure injection (tests/oom/oom.c): every allocation of a
# config load and of a spec load + validation fails in turn, under ASan+UBSan.
$(BUILD)/tests/oom: tests/oom/oom.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $< $(LIB) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc $(LDLIBS_ALL)

oom: $(BUILD)/tests/oom
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/tests/oom config policies/examples/third-party.yaml 0 100000
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/tests/oom config policies/examples/report-only.yaml 0 100000
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/tests/oom spec tests/integration/fixtures/shop.yaml \
		tests/integration/fixtures/body/item-extra.json getItem 0 100000
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/tests/oom pipeline $(abspath tests/integration/fixtures/shop.yaml) 0 100000

# kill -9 in the middle of store writes (tests/store/crash.sh): the store
# stays consistent and loses at most the transaction in flight.
$(BUILD)/tests/crash_writer: tests/store/crash_writer.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL)

store-crash: $(BUILD)/tests/crash_writer
	./tests/store/crash.sh $(BUILD)/tests/crash_writer 5

# `driftgate report` end to end: fixture store (unit test report_e2e::fixture_store),
# reports in 3 formats, JSON checked against analyze/report.schema.json, HTML in
# headless Chromium (screenshots in $(BUILD)/report-test).
report-test: $(BIN) $(BUILD)/tests/test_report
	TEST_REPORT=$(BUILD)/tests/test_report ./tests/report/run.sh $(BIN)

# ThreadSanitizer (clang): every thread busy at once, reloads during model
# calls, SIGTERM; any data race fails (tests/tsan/run.sh).
tsan:
	$(MAKE) --no-print-directory CC=clang BUILD=build/tsan OPT=-O1 \
		CFLAGS="-fsanitize=thread -fno-omit-frame-pointer" LDFLAGS="-fsanitize=thread" all
	./tests/tsan/run.sh build/tsan/driftgate

clang-check:
	$(MAKE) --no-print-directory CC=clang BUILD=build/clang all

asan:
	@./scripts/deps.sh
	$(MAKE) --no-print-directory SAN=1 BUILD=build/asan OPT=-O1 unit conformance oom

test:
	@./scripts/deps.sh
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory clang-check
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory SAN=1 BUILD=build/asan OPT=-O1 unit conformance oom
	$(MAKE) --no-print-directory conformance
	$(MAKE) --no-print-directory cli-test
	$(MAKE) --no-print-directory store-crash
	$(MAKE) --no-print-directory report-test
	$(MAKE) --no-print-directory dashboards-test
	$(MAKE) --no-print-directory demo-test
	$(MAKE) --no-print-directory integration
	$(MAKE) --no-print-directory SAN=1 BUILD=build/asan OPT=-O1 all
	ASAN=1 DRIFTGATE=build/asan/driftgate ./tests/integration/run.sh
	$(MAKE) --no-print-directory tsan
	$(MAKE) --no-print-directory packaging-test
	@echo "make test: all passed"

bench: $(BIN)
	@./scripts/deps.sh --bench
	$(MAKE) --no-print-directory -C bench BUILD=$(abspath $(BUILD))
	$(MAKE) --no-print-directory -C bench BUILD=$(abspath $(BUILD)) proxy

fuzz:
	@./scripts/deps.sh
	$(MAKE) --no-print-directory -f tests/fuzz/Makefile FUZZ_SECONDS=$(FUZZ_SECONDS)

demo:
	@./scripts/deps.sh
	$(MAKE) --no-print-directory all
	./demo/run.sh $(BIN)

# dashboards/: promtool check + unit tests of the rules, the Grafana JSON's structure,
# every dashboard and rule query against a real Prometheus scraping driftgate (~20 s).
dashboards-test: $(BIN)
	./tests/dashboards/run.sh $(BIN)

# The demo three ways (heuristic, fake Gemini API, fake Ollama), exact counts
# and classifications, Ctrl-C / SIGTERM / a taken port, nothing left running.
demo-test: all
	./demo/test.sh $(BIN)

# The Debian package: packaging/deb/build.sh builds in its own build/deb with
# Debian's hardening flags and runs dpkg-deb; the .deb lands in $(BUILD).
deb:
	@./scripts/deps.sh
	+BUILD=build/deb ./packaging/deb/build.sh $(BUILD)

# The .deb: lintian, a boot under systemd (systemd-nspawn on an overlay),
# dpkg -i into THIS machine (root, disposable), dpkg -r/-P; leaves the
# machine as it found it (tests/packaging/run.sh).
packaging-test:
	+BUILD=build/deb ./tests/packaging/run.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/driftgate

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
