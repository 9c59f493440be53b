# topicfs — plain Makefile. `make`, `make test`, `make run`, `make install`, `make clean`.
CC      ?= cc
OPT     ?= -O2 -g
WARN    ?= -Wall -Wextra -Werror
SAN     ?=
BUILD   ?= build
prefix  ?= /usr/local
mandir  ?= $(prefix)/share/man
DESTDIR ?=
PKGS    := fuse3 lmdb rdkafka

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -MMD -MP -Istore -Imirror $(PKG_CFLAGS)
LDFLAGS += $(SAN)
LDLIBS  += $(PKG_LIBS) -lpthread

STORE_SRC := $(wildcard store/*.c)
FS_SRC    := $(wildcard fs/*.c)
MIRROR_SRC := $(wildcard mirror/*.c)
UNIT_SRC  := $(wildcard tests/unit/*.c)
STORE_OBJ := $(STORE_SRC:%.c=$(BUILD)/%.o)
FS_OBJ    := $(FS_SRC:%.c=$(BUILD)/%.o)
MIRROR_OBJ := $(MIRROR_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/%.o)

# Where `make run` mounts, and the data directory it keeps in the checkout.
DATA ?= $(CURDIR)/var/data
MNT  ?= /mnt/topics

.PHONY: all test unit pytest asan-pytest run stop install uninstall clean deps \
	fuzz fuzz-smoke fuzz-build stress

# The sanitizer build of the daemon, which the suite also runs against.
ASAN_BUILD := $(BUILD)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
all: $(BUILD)/topicfs $(BUILD)/mount.topicfs $(BUILD)/kafka_mock

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Made anew: a member whose source was removed must not stay in it.
$(BUILD)/libstore.a: $(STORE_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/topicfs: $(FS_OBJ) $(BUILD)/libmirror.a $(BUILD)/libstore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libmirror.a: $(MIRROR_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

# The tests' Kafka cluster: librdkafka's mock, driven over stdin.
$(BUILD)/kafka_mock: tests/kafka_mock.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BUILD)/mount.topicfs: mount-helper/mount.topicfs
	@mkdir -p $(BUILD)
	install -m 0755 $< $@

# The power-loss test's journal of the store's writes and syncs (LD_PRELOAD).
$(BUILD)/iojournal.so: tests/powerloss/iojournal.c
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -O2 -g $(WARN) -shared -fPIC -o $@ $< -ldl -lpthread

# The unit tests also cover fs/ code that needs no FUSE.
$(UNIT_OBJ): CFLAGS += -Ifs
$(BUILD)/store_test: $(UNIT_OBJ) $(BUILD)/fs/record_cache.o $(BUILD)/libstore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Installs the Debian packages the build and the tests need, if any is missing.
deps:
	@sh tests/install-deps.sh

unit: $(BUILD)/store_test
	$(BUILD)/store_test

IOJOURNAL := $(abspath $(BUILD)/iojournal.so)

pytest: all $(BUILD)/iojournal.so $(BUILD)/kafka_mock
	TOPICFS_BIN=$(abspath $(BUILD)/topicfs) TOPICFS_IOJOURNAL=$(IOJOURNAL) \
		/usr/bin/python3 -m pytest -q tests

asan-pytest: $(BUILD)/iojournal.so $(BUILD)/kafka_mock
	$(MAKE) BUILD=$(ASAN_BUILD) OPT="-O1 -g" SAN="$(ASAN_FLAGS)" $(ASAN_BUILD)/topicfs
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	TOPICFS_BIN=$(abspath $(ASAN_BUILD)/topicfs) TOPICFS_IOJOURNAL=$(IOJOURNAL) \
		/usr/bin/python3 -m pytest -q tests

test: deps
	$(MAKE) all $(BUILD)/store_test
	$(MAKE) unit
	$(MAKE) pytest
	$(MAKE) asan-pytest
	$(MAKE) fuzz-smoke

run: deps
	$(MAKE) all
	@mkdir -p $(MNT) && mkdir -p -m 0700 $(DATA)
	$(BUILD)/topicfs $(DATA) $(MNT)
	@echo "topicfs: $(DATA) mounted on $(MNT); try: mkdir $(MNT)/demo; echo hi >> $(MNT)/demo/produce; cat $(MNT)/demo/partition-0/log"

stop:
	umount $(MNT)

# mount(8) looks for helpers in /sbin only, whatever the prefix; the helper is
# told where the daemon went, as mount(8) runs it without PATH.
install: all
	install -d $(DESTDIR)$(prefix)/bin $(DESTDIR)/sbin $(DESTDIR)$(mandir)/man8
	install -m 0755 $(BUILD)/topicfs $(DESTDIR)$(prefix)/bin/topicfs
	install -m 0755 tools/topicfs-stat $(DESTDIR)$(prefix)/bin/topicfs-stat
	sed 's|^bindir=.*|bindir=$(prefix)/bin|' $(BUILD)/mount.topicfs > $(DESTDIR)/sbin/mount.topicfs
	chmod 0755 $(DESTDIR)/sbin/mount.topicfs
	install -m 0644 man/topicfs.8 $(DESTDIR)$(mandir)/man8/topicfs.8

uninstall:
	rm -f $(DESTDIR)$(prefix)/bin/topicfs $(DESTDIR)$(prefix)/bin/topicfs-stat \
		$(DESTDIR)/sbin/mount.topicfs $(DESTDIR)$(mandir)/man8/topicfs.8

clean:
	rm -rf $(BUILD)

# libFuzzer targets for every parser of user input (see fuzz/fuzz_names.c).
# fuzz-smoke: FUZZ_SMOKE_SECONDS each, part of `make test`; fuzz: FUZZ_SECONDS each.
FUZZ_CC      ?= clang
FUZZ_BUILD   := $(BUILD)/fuzz
# fuzz/ubsan-ignore.txt lists known, reported UBSan findings not yet fixed.
FUZZ_FLAGS   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 \
		-fsanitize-ignorelist=fuzz/ubsan-ignore.txt
FUZZ_ENV     := UBSAN_OPTIONS=print_stacktrace=1
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SECONDS ?= 300

FUZZ_FS_SRC  := fs/produce.c fs/numbers.c fs/logging.c fs/reset.c
$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(STORE_SRC) $(FUZZ_FS_SRC) $(wildcard store/*.h fs/*.h) \
		fuzz/ubsan-ignore.txt
	@mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE $(FUZZ_FLAGS) -Istore -Ifs $(PKG_CFLAGS) -o $@ \
		$< $(STORE_SRC) $(FUZZ_FS_SRC) $(PKG_LIBS) -lpthread

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

fuzz-smoke fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		echo "fuzz: $$t for $(if $(filter fuzz,$@),$(FUZZ_SECONDS),$(FUZZ_SMOKE_SECONDS)) s"; \
		$(FUZZ_ENV) $(FUZZ_BUILD)/$$t -max_total_time=$(if $(filter fuzz,$@),$(FUZZ_SECONDS),$(FUZZ_SMOKE_SECONDS)) \
			-artifact_prefix=$(FUZZ_BUILD)/$$t- -print_final_stats=1 \
			$(FUZZ_BUILD)/corpus/$$t >$(FUZZ_BUILD)/$$t.log 2>&1 \
			|| { tail -n 60 $(FUZZ_BUILD)/$$t.log; exit 1; }; \
		grep -E "^(Done|stat::number_of_executed_units)" $(FUZZ_BUILD)/$$t.log; \
	done

# Crash loops: STRESS_ROUNDS rounds of kill -9 under concurrent producers, and
# STRESS_IMAGES disk images a power loss could leave, per sync mode.
STRESS_ROUNDS ?= 200
STRESS_IMAGES ?= 250
stress: all $(BUILD)/iojournal.so
	TOPICFS_CRASH_ROUNDS=$(STRESS_ROUNDS) TOPICFS_POWERLOSS_IMAGES=$(STRESS_IMAGES) \
		TOPICFS_BIN=$(abspath $(BUILD)/topicfs) TOPICFS_IOJOURNAL=$(IOJOURNAL) \
		/usr/bin/python3 -m pytest -q -o timeout=3600 tests/test_crash.py tests/test_power_loss.py

# Benchmarks against a plain file and Redis Streams; writes bench/RESULTS.md (~4 min;
# BENCH_QUICK=1 for a 10x smaller smoke run). Never part of `make test`.
.PHONY: bench bench-mirror
bench: all $(BUILD)/noopfs $(BUILD)/open_writer
	TOPICFS_BIN=$(abspath $(BUILD)/topicfs) NOOPFS_BIN=$(abspath $(BUILD)/noopfs) \
		OPEN_WRITER_BIN=$(abspath $(BUILD)/open_writer) /usr/bin/python3 bench/bench.py
	$(MAKE) bench-mirror

# Long-lived writers for the benchmark: one write() per record on an open fd.
$(BUILD)/open_writer: bench/open_writer.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -o $@ $<

# The Kafka mirror's shipping rate next to a bare librdkafka producer, on the
# mock cluster; writes bench/MIRROR.md (~1 min).
bench-mirror: all $(BUILD)/kafka_bare
	TOPICFS_BIN=$(abspath $(BUILD)/topicfs) KAFKA_MOCK_BIN=$(abspath $(BUILD)/kafka_mock) \
		KAFKA_BARE_BIN=$(abspath $(BUILD)/kafka_bare) /usr/bin/python3 bench/mirror.py

$(BUILD)/kafka_bare: bench/kafka_bare.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

# The benchmark's floor: a FUSE filesystem that does nothing, on libfuse's
# request loop or on topicfs's.
$(BUILD)/noopfs: bench/noopfs.c $(BUILD)/fs/loop.o $(BUILD)/fs/logging.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ifs -o $@ $^ $(LDFLAGS) $(LDLIBS)

-include $(STORE_OBJ:.o=.d) $(FS_OBJ:.o=.d) $(MIRROR_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
