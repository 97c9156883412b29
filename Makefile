# cluster: one non-recursive Makefile.  `make V=1` shows commands,
# `make DEVELOPER=1` adds warnings as errors, `make SANITIZE=address,undefined`
# builds with sanitizers, `make BUILD=dir` builds out of tree.

VERSION    := 0.1.0
SOVERSION  := $(firstword $(subst ., ,$(VERSION)))
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BUILD      ?= build
CC         ?= cc
MPICC      ?= mpicc
PKG_CONFIG ?= pkg-config

LIBS_PKG   := yaml-0.1 jansson libevent libevent_pthreads libcrypto hwloc
CFLAGS     ?= -O2 -g
BASE_CFLAGS := -std=c11 -Wall -Wextra -D_GNU_SOURCE -Isrc -Iinclude \
	-DCLUSTER_VERSION='"$(VERSION)"' -DCLUSTER_SRCDIR='"$(CURDIR)"' \
	$(shell $(PKG_CONFIG) --cflags $(LIBS_PKG) 2>/dev/null)
BASE_LIBS  := $(shell $(PKG_CONFIG) --libs $(LIBS_PKG) 2>/dev/null) -lm
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
# What libcluster links, and what cluster.pc says it needs.
LIB_PKG    := jansson libevent libcrypto
LIB_LIBS   := $(shell $(PKG_CONFIG) --libs $(LIB_PKG) 2>/dev/null)
# cluster-rank boots over PMIx where its launcher serves it, MPI elsewhere.
MPI_CFLAGS := $(shell $(PKG_CONFIG) --cflags ompi-c pmix 2>/dev/null)
MPI_LIBS   := $(shell $(PKG_CONFIG) --libs ompi-c pmix 2>/dev/null)

ifdef DEVELOPER
BASE_CFLAGS += -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings
endif
ifdef SANITIZE
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS) -MMD -MP

# --- sources, one per line, by subsystem ----------------------------------

# util: buffers, errors, units, files, logging
CORE_SRCS += src/util/strbuf.c
CORE_SRCS += src/util/err.c
CORE_SRCS += src/util/units.c
CORE_SRCS += src/util/clock.c
CORE_SRCS += src/util/vec.c
CORE_SRCS += src/util/procfs.c
CORE_SRCS += src/util/fdio.c
CORE_SRCS += src/util/sysmem.c
CORE_SRCS += src/util/log.c
CORE_SRCS += src/util/xalloc.c
CORE_SRCS += src/util/idset.c
CORE_SRCS += src/util/paths.c
CORE_SRCS += src/util/suggest.c
CORE_SRCS += src/util/accept.c

# config: key table, YAML layers, profiles
CORE_SRCS += src/config/keys.c
CORE_SRCS += src/config/config.c
CORE_SRCS += src/config/values.c
CORE_SRCS += src/config/yaml.c

# backend: one ops table per batch system, the command runner
CORE_SRCS += src/backend/backend.c
CORE_SRCS += src/backend/local.c
CORE_SRCS += src/backend/slurm.c
CORE_SRCS += src/backend/pbs.c
CORE_SRCS += src/backend/torque.c
CORE_SRCS += src/backend/run.c

# jobscript: sizing and batch headers
CORE_SRCS += src/jobscript/sizing.c
CORE_SRCS += src/jobscript/render.c
CORE_SRCS += src/jobscript/launch.c

# proto: the worker wire protocol
CORE_SRCS += src/proto/proto.c
CORE_SRCS += src/proto/sign.c

# state: the state directory
CORE_SRCS += src/state/state.c
CORE_SRCS += src/state/runfiles.c
CORE_SRCS += src/state/worklog.c

# task: task vocabulary, field table, JSON codec
CORE_SRCS += src/task/task.c
CORE_SRCS += src/task/fields.c
CORE_SRCS += src/task/codec.c

# sched: task table, placement, task files
CORE_SRCS += src/sched/sched.c
CORE_SRCS += src/sched/pace.c
CORE_SRCS += src/sched/taskfile.c
CORE_SRCS += src/sched/taskfile_syntax.c

# journal: the scheduler's record of tasks and pool, its replay and compaction
CORE_SRCS += src/journal/format.c
CORE_SRCS += src/journal/writer.c
CORE_SRCS += src/journal/replay.c
CORE_SRCS += src/journal/compact.c

# pool: the batch jobs of the pool, reconcile and adapt (pure)
CORE_SRCS += src/pool/pool.c
CORE_SRCS += src/pool/listing.c
CORE_SRCS += src/pool/adapt.c
CORE_SRCS += src/pool/manager.c
CORE_SRCS += src/pool/commands.c
CORE_SRCS += src/pool/local.c
CORE_SRCS += src/pool/record.c
CORE_SRCS += src/pool/stop.c

# api: the scheduler's HTTP API, by resource around one route table
CORE_SRCS += src/api/http.c
CORE_SRCS += src/api/conn.c
CORE_SRCS += src/api/head.c
CORE_SRCS += src/api/tasks.c
CORE_SRCS += src/api/wait.c
CORE_SRCS += src/api/workers.c
CORE_SRCS += src/api/api.c
CORE_SRCS += src/api/pool.c
CORE_SRCS += src/api/activity.c
CORE_SRCS += src/api/dashboard.c
CORE_SRCS += src/api/static.c
CORE_SRCS += src/api/metrics.c
CORE_SRCS += src/api/journal.c

# dashboard: the files of dashboard/, built in as C (dashboard/embed.sh),
# and the link start and status print
CORE_SRCS += src/dashboard/link.c
DASHBOARD_FILES += dashboard/index.html
DASHBOARD_FILES += dashboard/dashboard.js
DASHBOARD_FILES += dashboard/dashboard.css

# client: the C client library (include/cluster/client.h)
CORE_SRCS += src/client/client.c

# libcluster: the client library and what it uses, installed for programs
# outside the tree (cluster-client(3)); compiled apart, position-independent
LIB_SRCS += src/client/client.c
LIB_SRCS += src/state/state.c
LIB_SRCS += src/proto/sign.c
LIB_SRCS += src/util/strbuf.c
LIB_SRCS += src/util/err.c
LIB_SRCS += src/util/clock.c
LIB_SRCS += src/util/xalloc.c
LIB_SRCS += src/util/idset.c
LIB_SRCS += src/util/vec.c
LIB_SRCS += src/util/fdio.c

# worker: task executor, worker process, nanny
CORE_SRCS += src/worker/exec.c
CORE_SRCS += src/worker/gpus.c
CORE_SRCS += src/worker/output.c
CORE_SRCS += src/worker/worker.c
CORE_SRCS += src/worker/follow.c
CORE_SRCS += src/worker/nanny.c

# server: the scheduler process, its worker connections, its event fan-out,
# its run ladder, the pool manager in it
CORE_SRCS += src/server/server.c
CORE_SRCS += src/server/workers.c
CORE_SRCS += src/server/heartbeat.c
CORE_SRCS += src/server/events.c
CORE_SRCS += src/server/run.c
CORE_SRCS += src/server/pool.c
CORE_SRCS += src/server/feed.c
CORE_SRCS += src/server/journal.c

# cli: the `cluster` command
CLI_SRCS += src/cli/main.c
CLI_SRCS += src/cli/commands.c
CLI_SRCS += src/cli/options.c
CLI_SRCS += src/cli/format.c
CLI_SRCS += src/cli/suggest.c
CLI_SRCS += src/cli/complete.c
CLI_SRCS += src/cli/cmd_config.c
CLI_SRCS += src/cli/cmd_job_script.c
CLI_SRCS += src/cli/cmd_submit.c
CLI_SRCS += src/cli/cmd_wait.c
CLI_SRCS += src/cli/cmd_tasks.c
CLI_SRCS += src/cli/cmd_logs.c
CLI_SRCS += src/cli/cmd_cancel.c
CLI_SRCS += src/cli/cmd_workers.c
CLI_SRCS += src/cli/cmd_worker.c
CLI_SRCS += src/cli/cmd_start.c
CLI_SRCS += src/cli/start_pool.c
CLI_SRCS += src/cli/cmd_stop.c
CLI_SRCS += src/cli/cmd_scheduler.c
CLI_SRCS += src/cli/cmd_scale.c
CLI_SRCS += src/cli/cmd_adapt.c
CLI_SRCS += src/cli/cmd_status.c
CLI_SRCS += src/cli/cmd_resume.c
CLI_SRCS += src/cli/cmd_top.c
CLI_SRCS += src/cli/cmd_journal.c

# The CLI is not in the core library (cluster-rank and the runtime never
# link it), so a CLI module with a suite of its own is linked into it here.
UNIT_TESTS += tests/unit/check_options.c
$(BUILD)/tests/check_options: $(BUILD)/src/cli/options.o $(BUILD)/src/cli/suggest.o
UNIT_TESTS += tests/unit/check_format.c
$(BUILD)/tests/check_format: $(BUILD)/src/cli/format.o
UNIT_TESTS += tests/unit/check_suggest.c
$(BUILD)/tests/check_suggest: $(BUILD)/src/cli/suggest.o

# rank: the MPI entry point (only part built with mpicc)
RANK_SRCS += src/rank/main.c
RANK_SRCS += src/rank/boot.c

# unit tests: one Check suite per module
UNIT_TESTS += tests/unit/check_strbuf.c
UNIT_TESTS += tests/unit/check_units.c
UNIT_TESTS += tests/unit/check_idset.c
UNIT_TESTS += tests/unit/check_paths.c
UNIT_TESTS += tests/unit/check_sysmem.c
UNIT_TESTS += tests/unit/check_suggest_util.c
UNIT_TESTS += tests/unit/check_config.c
UNIT_TESTS += tests/unit/check_backend.c
UNIT_TESTS += tests/unit/check_pool.c
UNIT_TESTS += tests/unit/check_jobscript.c
UNIT_TESTS += tests/unit/check_proto.c
UNIT_TESTS += tests/unit/check_sign.c
UNIT_TESTS += tests/unit/check_proto_stream.c
UNIT_TESTS += tests/unit/check_api.c
UNIT_TESTS += tests/unit/check_api_limits.c
UNIT_TESTS += tests/unit/check_state.c
UNIT_TESTS += tests/unit/check_task.c
UNIT_TESTS += tests/unit/check_state_fresh.c
UNIT_TESTS += tests/unit/check_sched.c
UNIT_TESTS += tests/unit/check_sched_memory.c
UNIT_TESTS += tests/unit/check_sched_deadline.c
UNIT_TESTS += tests/unit/check_sched_gpus.c
UNIT_TESTS += tests/unit/check_sched_rejoin.c
UNIT_TESTS += tests/unit/check_sched_pace.c
UNIT_TESTS += tests/unit/check_taskfile.c
UNIT_TESTS += tests/unit/check_taskfile_syntax.c
UNIT_TESTS += tests/unit/check_exec.c
UNIT_TESTS += tests/unit/check_exec_times.c
UNIT_TESTS += tests/unit/check_gpus.c
UNIT_TESTS += tests/unit/check_worklog.c
UNIT_TESTS += tests/unit/check_output.c
UNIT_TESTS += tests/unit/check_server.c
UNIT_TESTS += tests/unit/check_events.c
UNIT_TESTS += tests/unit/check_feed.c
UNIT_TESTS += tests/unit/check_workers_rejoin.c
UNIT_TESTS += tests/unit/check_heartbeat.c
UNIT_TESTS += tests/unit/check_manager.c
UNIT_TESTS += tests/unit/check_pool_wiring.c
UNIT_TESTS += tests/unit/check_pool_adopt.c
UNIT_TESTS += tests/unit/check_api_pool.c
UNIT_TESTS += tests/unit/check_activity.c
UNIT_TESTS += tests/unit/check_dashboard_link.c
UNIT_TESTS += tests/unit/check_journal.c
UNIT_TESTS += tests/unit/check_journal_jobs.c
UNIT_TESTS += tests/unit/check_journal_range.c
UNIT_TESTS += tests/unit/check_journal_writer.c
UNIT_TESTS += tests/unit/check_server_journal.c

# benchmarks: print figures, assert nothing (`make bench`)
BENCH_SRCS += tests/bench/bench_proto.c
BENCH_SRCS += tests/bench/bench_scaleout.c
BENCH_SRCS += tests/bench/bench_spawn.c
BENCH_SRCS += tests/bench/bench_table.c
BENCH_SRCS += tests/bench/bench_pool.c
BENCH_SRCS += tests/bench/bench_journal.c
BENCH_SRCS += tests/bench/bench_deps.c

# --- rules ----------------------------------------------------------------

CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/src/dashboard/assets.o
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
RANK_OBJS := $(RANK_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_TESTS:tests/unit/%.c=$(BUILD)/tests/%)
CORE_LIB  := $(BUILD)/libcluster-core.a
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)

PROGRAMS := $(BUILD)/bin/cluster $(BUILD)/bin/cluster-rank
LIBRARIES := $(BUILD)/lib/libcluster.a $(BUILD)/lib/libcluster.so.$(VERSION)

all: $(PROGRAMS) $(LIBRARIES)

# The flags a build was made with, rewritten only when they change:
# every object depends on it, so `make DEVELOPER=1` or SANITIZE=... after
# a plain build rebuilds, and the same flags again rebuild nothing.
# `make install` (alone) installs the build as it was made: it rebuilds
# what changed sources need, not what flags it was not given again need.
FLAGS_STAMP := $(BUILD)/.build-flags
BUILD_FLAGS = $(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) $(LDFLAGS)

ifeq ($(filter-out install uninstall,$(MAKECMDGOALS)),)
ifneq ($(MAKECMDGOALS),)
FLAGS_KEPT := 1
endif
endif
ifdef FLAGS_KEPT
$(FLAGS_STAMP):
else
$(FLAGS_STAMP): FORCE
endif
	@mkdir -p $(dir $@)
	@flags='$(subst ','\'',$(BUILD_FLAGS))'; \
	if [ "$$flags" != "$$(cat $@ 2>/dev/null)" ]; then \
		$(if $(Q),[ ! -e $@ ] || echo "  FLAGS   changed: rebuilding $(BUILD)";) \
		printf '%s\n' "$$flags" >$@; \
	fi

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The dashboard's files as one generated source, compiled like the rest.
$(BUILD)/src/dashboard/assets.c: $(DASHBOARD_FILES) dashboard/embed.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  EMBED   $@")
	$(Q)sh dashboard/embed.sh dashboard_assets $(DASHBOARD_FILES) >$@.tmp && \
		mv $@.tmp $@

$(BUILD)/src/dashboard/assets.o: $(BUILD)/src/dashboard/assets.c $(FLAGS_STAMP)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/src/rank/%.o: src/rank/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MPICC   $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) -c -o $@ $<

$(BUILD)/pic/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC PIC  $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -c -o $@ $<

# The library's only global names are cluster_*, in the archive too (one
# relocatable object, the rest made local), so a program linking it
# meets none of its helpers (strbuf_*, state_*) by accident.
# Both also depend on the Makefile: with .SECONDARY, a source newly listed
# here would otherwise not relink a library newer than that source.
$(BUILD)/lib/libcluster.a: $(LIB_OBJS) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(CC) -r -nostdlib -o $(BUILD)/pic/libcluster.o $(LIB_OBJS) && \
		objcopy -w --keep-global-symbol='cluster_*' $(BUILD)/pic/libcluster.o && \
		rm -f $@ && ar rcs $@ $(BUILD)/pic/libcluster.o

$(BUILD)/lib/libcluster.so.$(VERSION): $(LIB_OBJS) $(FLAGS_STAMP) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)printf '{ global: cluster_*; local: *; };\n' >$(BUILD)/pic/libcluster.map
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,-soname,libcluster.so.$(SOVERSION) \
		-Wl,--version-script=$(BUILD)/pic/libcluster.map -o $@ \
		$(LIB_OBJS) $(LIB_LIBS)
	$(Q)ln -sf libcluster.so.$(VERSION) $(BUILD)/lib/libcluster.so.$(SOVERSION)
	$(Q)ln -sf libcluster.so.$(SOVERSION) $(BUILD)/lib/libcluster.so

$(CORE_LIB): $(CORE_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/cluster: $(CLI_OBJS) $(CORE_LIB) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter-out $(FLAGS_STAMP),$^) $(BASE_LIBS)

$(BUILD)/bin/cluster-rank: $(RANK_OBJS) $(CORE_LIB) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter-out $(FLAGS_STAMP),$^) $(BASE_LIBS) $(MPI_LIBS)

# Objects first: a suite may list extra ones, which use the library too.
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(CORE_LIB) $(CHECK_LIBS) $(BASE_LIBS)

unit-tests: $(UNIT_BINS)

BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(BASE_LIBS)

# C benchmarks, then every tests/bench/*.sh against this build.
# bench_scaleout opens tens of thousands of connections: `make
# bench-scaleout` runs it, not `make bench`.
SCALEOUT_BENCH := $(BUILD)/bench/bench_scaleout

bench: $(BENCH_BINS) $(PROGRAMS)
	@for b in $(filter-out $(SCALEOUT_BENCH),$(BENCH_BINS)); do \
		echo "== $$b"; $$b || exit 1; done
	@for s in $(filter-out $(PEERS_BENCH) $(POOL_BENCH),$(wildcard tests/bench/*.sh)); do \
		echo "== $$s"; bash $$s $(BUILD) || exit 1; done

bench-scaleout: $(SCALEOUT_BENCH)
	@$(SCALEOUT_BENCH)

# The same workload through cluster and its peers, one table; the peers it
# cannot install are skipped with a message.
PEERS_BENCH := tests/bench/bench_peers.sh

# The pool's figures: batch-system calls for scale 500 with arrays on and
# off and the scheduler's CPU per poll (bench_pool, also in `bench`), and
# the time from scale 8 to 8 workers joined on the local backend and the
# private Slurm (which takes a minute or more, so not in `bench`).
POOL_BENCH := tests/bench/bench_pool_scale.sh

bench-pool: $(BUILD)/bench/bench_pool $(PROGRAMS)
	@echo "== $(BUILD)/bench/bench_pool"; $(BUILD)/bench/bench_pool
	@echo "== $(POOL_BENCH)"; bash $(POOL_BENCH) $(BUILD)

bench-peers: $(BUILD)/bench/bench_spawn $(PROGRAMS)
	@tools/deps.sh $(DEB_BENCH) || \
		echo "bench-peers: cannot install $(DEB_BENCH); what is absent is skipped"
	@bash $(PEERS_BENCH) $(BUILD)

# Start and finish of a run of one task, batch and local, against
# `mpirun -np 3 /bin/true` in the same rounds.
bench-start: $(PROGRAMS)
	@bash tests/bench/bench_start.sh $(BUILD)

# --- fuzzing -----------------------------------------------------------------
# libFuzzer harnesses, tests/fuzz/fuzz_<name>.c, each with an oracle beyond
# "does not crash"; hand-made seeds in tests/fuzz/corpus/fuzz_<name>/.
# `make fuzz` builds them with clang (fuzzer, address, undefined) into
# build-fuzz/ and runs each for FUZZ_SECONDS on its seeds, new inputs going
# to build-fuzz/corpus/ and crashes to build-fuzz/crash-*; `make
# fuzz-regress` runs each once over its seeds (FUZZ_NAMES=fuzz_frame picks
# some).  A crash's input belongs in the seeds once the bug is fixed.
# fuzz_frame: the rank protocol's frames; fuzz_config: the configuration
# loader and the job scripts' launch lines; fuzz_taskfile: task files;
# fuzz_http: the API's request path, head judging to the route table,
# over loopback to a real evhttp inside the harness (libevent 2.1 takes
# connections from a listener only), its handlers stand-ins.

FUZZ_TESTS += tests/fuzz/fuzz_frame.c
FUZZ_TESTS += tests/fuzz/fuzz_config.c
FUZZ_TESTS += tests/fuzz/fuzz_taskfile.c
FUZZ_TESTS += tests/fuzz/fuzz_http.c

# What the harnesses' oracles share.
FUZZ_COMMON += tests/fuzz/shell_words.c

# fuzz_http answers in the route table's handlers' stead.
FUZZ_HTTP_HANDLERS := tasks_submit tasks_batch tasks_list tasks_show \
	tasks_cancel tasks_cancel_many tasks_log wait_tasks workers_list \
	workers_counters
FUZZ_LDFLAGS_fuzz_http := $(FUZZ_HTTP_HANDLERS:%=-Wl,--wrap=%)

FUZZ_SECONDS ?= 120
FUZZ_BUILD   ?= build-fuzz
FUZZ_NAMES   ?= $(FUZZ_TESTS:tests/fuzz/%.c=%)
FUZZ_BINS    := $(FUZZ_TESTS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJS    := $(FUZZ_COMMON:%.c=$(BUILD)/%.o)

# The core is compiled once more with clang and coverage for the fuzzer.
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
		SANITIZE=address,undefined \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link" fuzz-bins

fuzz-bins: $(FUZZ_BINS)

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(FUZZ_OBJS) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) $(FUZZ_LDFLAGS_$*) -fsanitize=fuzzer -o $@ $^ \
		$(BASE_LIBS)

fuzz: fuzz-build
	@for f in $(FUZZ_NAMES); do \
		echo "== $$f for $(FUZZ_SECONDS) s"; \
		mkdir -p $(FUZZ_BUILD)/corpus/$$f || exit 1; \
		$(FUZZ_BUILD)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crash-$$f- \
			$(FUZZ_BUILD)/corpus/$$f tests/fuzz/corpus/$$f || exit 1; \
	done

fuzz-regress: fuzz-build
	@for f in $(FUZZ_NAMES); do \
		echo "== $$f over tests/fuzz/corpus/$$f"; \
		$(FUZZ_BUILD)/fuzz/$$f -runs=0 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$f- \
			tests/fuzz/corpus/$$f || exit 1; \
	done

-include $(FUZZ_OBJS:.o=.d)

# --- set-up, tests, demo, install ------------------------------------------

# Debian packages: what builds, what the tests start, what lints man pages.
DEB_BUILD := build-essential pkg-config libyaml-dev libjansson-dev \
	libevent-dev libssl-dev libhwloc-dev libopenmpi-dev openmpi-bin check \
	libsubunit-dev libpmix-dev
DEB_TEST  := slurm-wlm slurm-wlm-torque munge mandoc curl procps python3 clang \
	libclang-rt-14-dev lmod chromium nginx prometheus
# Peers that `make bench-peers` measures cluster against; not for `check`.
DEB_BENCH := parallel python3-distributed

deps:
	@tools/deps.sh $(DEB_BUILD)

deps-test:
	@tools/deps.sh $(DEB_BUILD) $(DEB_TEST)

deps-bench:
	@tools/deps.sh $(DEB_BENCH)

check: deps-test
	@tools/check.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/cluster/profiles \
		$(DESTDIR)$(PREFIX)/share/cluster/jobscripts \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(INCLUDEDIR)/cluster $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(PREFIX)/share/modulefiles/cluster
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 config/*.yaml $(DESTDIR)$(PREFIX)/share/cluster/profiles/
	install -m 0644 jobscripts/* $(DESTDIR)$(PREFIX)/share/cluster/jobscripts/
	for m in man/*.1; do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done
	for m in man/*.3; do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man3/; done
	for m in man/*.5; do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man5/; done
	for m in $(wildcard man/*.7); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man7/; done
	install -m 0644 tools/cluster-completion.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/cluster
	install -m 0644 include/cluster/client.h $(DESTDIR)$(INCLUDEDIR)/cluster/
	install -m 0644 $(BUILD)/lib/libcluster.a $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(BUILD)/lib/libcluster.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libcluster.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcluster.so.$(SOVERSION)
	ln -sf libcluster.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libcluster.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@LIB_PKG@|$(LIB_PKG)|' tools/cluster.pc.in \
		>$(DESTDIR)$(LIBDIR)/pkgconfig/cluster.pc
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@BINDIR@|$(PREFIX)/bin|' \
		-e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		tools/modulefile.lua.in \
		>$(DESTDIR)$(PREFIX)/share/modulefiles/cluster/$(VERSION).lua

# Every file install writes, and the directories that are the package's
# own; directories others share (bin, lib, share/man/...) stay.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(PROGRAMS)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/cluster/profiles/,$(notdir $(wildcard config/*.yaml)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/cluster/jobscripts/,$(notdir $(wildcard jobscripts/*)))
	for s in 1 3 5 7; do \
		for m in $(notdir $(wildcard man/*.[1357])); do \
			case $$m in *.$$s) rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$$m ;; esac; \
		done; \
	done
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cluster
	rm -f $(DESTDIR)$(INCLUDEDIR)/cluster/client.h
	rm -f $(DESTDIR)$(LIBDIR)/libcluster.a $(DESTDIR)$(LIBDIR)/libcluster.so \
		$(DESTDIR)$(LIBDIR)/libcluster.so.$(SOVERSION) \
		$(DESTDIR)$(LIBDIR)/libcluster.so.$(VERSION)
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/cluster.pc
	rm -f $(DESTDIR)$(PREFIX)/share/modulefiles/cluster/$(VERSION).lua
	-rmdir $(DESTDIR)$(PREFIX)/share/cluster/profiles \
		$(DESTDIR)$(PREFIX)/share/cluster/jobscripts \
		$(DESTDIR)$(PREFIX)/share/cluster $(DESTDIR)$(INCLUDEDIR)/cluster \
		$(DESTDIR)$(PREFIX)/share/modulefiles/cluster 2>/dev/null

clean:
	rm -rf build build-*

.PHONY: all unit-tests bench bench-pool bench-peers bench-scaleout bench-start deps deps-test deps-bench check demo install uninstall clean \
	fuzz fuzz-build fuzz-bins fuzz-regress FORCE
.SECONDARY:

-include $(CORE_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(RANK_OBJS:.o=.d) $(LIB_OBJS:.o=.d) \
	$(UNIT_BINS:$(BUILD)/tests/%=$(BUILD)/tests/unit/%.d) \
	$(FUZZ_BINS:$(BUILD)/fuzz/%=$(BUILD)/tests/fuzz/%.d)
