# aim: capability routing for AI coding tools, as Unix filters.
# GNU make.  `make`, `make check`, `make demo`, `make bench`, `make install`.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
CFLAGS	?= -O2 -g
WARN	= -Wall -Wextra -Werror -Wshadow -Wformat-security -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Ilib $(CFLAGS)
LDLIBS	= -ljansson -lsodium -lexpat -lhiredis -pthread

# `make SAN=1 ...` builds with AddressSanitizer and UndefinedBehaviorSanitizer
# into build-san/ so both builds can live side by side.
ifeq ($(SAN),1)
B	= build-san
ALL_CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
SANFLAGS = -fsanitize=address,undefined
else
B	= build
endif

BINS	= aim-resolve aim-invoke aim-audit aim-secret aim-scan aim-init aim-run \
	aim-install aim-cache aim-fanout aim-apply aim
LIBSRC	= util cli ndjson jsonpos registry route proc adapter audit vault policy \
	state semver walk dups scan clean chain verify keys trail setup redact \
	init patterns invoke show findings declare install rcache worktree \
	rstate
UNITS	= test-unit test-scan test-patterns test-findings test-declare
MAN1	= man/aim-resolve.1 man/aim-invoke.1 man/aim-audit.1 man/aim-secret.1 \
	man/aim-scan.1 man/aim-init.1 man/aim-run.1 man/aim-install.1 \
	man/aim-cache.1 man/aim-fanout.1 man/aim-apply.1 man/aim.1
MAN5	= man/aim-registry.5
MAN7	= man/aim.7 man/aim-adapter.7

# Debian packages the build, the tests and the demo need.  gojq: the
# adapter kit runs it where it is installed, jq elsewhere (aim-adapter(7)
# KIT), so that the tests run the kit as users will.
BUILD_DEPS = gcc make libjansson-dev libsodium-dev libexpat1-dev libhiredis-dev \
	pkg-config
TEST_DEPS = bats bats-assert bats-support bats-file jq gojq mandoc \
	shellcheck clang-format cppcheck shfmt black yamllint strace parallel \
	zsh prometheus redis-server
BENCH_DEPS = hyperfine time jdupes rmlint fdupes

all: $(BINS:%=$(B)/%)

$(B)/.dir:
	@mkdir -p $(B)
	@touch $@

$(B)/%.o: lib/%.c $(wildcard lib/*.h) $(B)/.dir
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libaim.a: $(LIBSRC:%=$(B)/%.o)
	$(AR) rcs $@ $^

$(B)/aim-%: cmd/aim-%.c $(B)/libaim.a
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -o $@ $< $(B)/libaim.a $(LDLIBS)

# The front command knows where `make install` puts the aim-* programs, and
# aim-init where it puts the example registry: a stamp holding both
# directories, rewritten only when they change, rebuilds the two when
# `make install PREFIX=...` follows a plain `make`.
$(B)/dirs.stamp: FORCE $(B)/.dir
	@echo '$(BINDIR) $(AIMDATADIR)' | cmp -s - $@ || \
		echo '$(BINDIR) $(AIMDATADIR)' >$@

$(B)/aim: cmd/aim.c $(B)/libaim.a $(B)/dirs.stamp
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -DAIM_BINDIR='"$(BINDIR)"' -o $@ $< \
		$(B)/libaim.a $(LDLIBS)

$(B)/aim-init: cmd/aim-init.c $(B)/libaim.a $(B)/dirs.stamp
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -DAIM_DATADIR='"$(AIMDATADIR)"' -o $@ \
		$< $(B)/libaim.a $(LDLIBS)

$(B)/test-%: tests/unit/test-%.c tests/unit/tap.h $(B)/libaim.a
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -DTOP='"$(CURDIR)"' -o $@ $< \
		$(B)/libaim.a $(LDLIBS)

$(B)/bench-%: bench/%.c
	$(CC) $(ALL_CFLAGS) -o $@ $<

# Install what is missing (Debian; as root, else through sudo).
deps:
	@sh tools/deps.sh $(BUILD_DEPS)

test-deps:
	@sh tools/deps.sh $(BUILD_DEPS) $(TEST_DEPS)

# The suite, the same suite under ASan+UBSan, the real CLIs, the docs lint,
# the fuzzers' regression inputs replayed and each fuzzer for 3 s, phase by
# phase (tests/check); the last lines give each phase's wall time and add up
# every run: "check: N passed, M failed, K skipped".
check:
	@MAKE='$(MAKE)' tests/check

# The CLI x scenario matrix through the real coding CLIs, every cell
# `make check` leaves out (tests/integration/check-clis; the spec:
# tests/fixtures/matrix/expected.tsv): ~10 minutes on 2 CPUs.
check-clis: test-deps
	@$(MAKE) --no-print-directory all
	tests/integration/check-clis $(B)

# Only the plain suite: quicker while working.
check-quick: test-deps
	@$(MAKE) --no-print-directory all $(UNITS:%=$(B)/%)
	tests/run $(B)

# The coding CLIs from npm join the demo (AIM_DEMO_TOOLS=0 to leave them
# out): they are installed, and fail for lack of login, honestly.
demo: test-deps all
	@if [ "$${AIM_DEMO_TOOLS:-1}" = 1 ]; then \
		bin=$$(tests/tools-install) && PATH=$$bin:$$PATH; \
	fi; examples/demo.sh $(B)

bench: test-deps
	@sh tools/deps.sh $(BENCH_DEPS)
	@$(MAKE) --no-print-directory all $(B)/bench-echo-adapter $(B)/bench-spawn-loop \
		$(B)/bench-gen-tree
	bench/run $(B)
	bench/dups $(B)
	bench/audit-chain $(B)
	bench/kit
	bench/status $(B)
	bench/adapters $(B)
	bench/declarative $(B)
	bench/install $(B)
	bench/rcache $(B)
	bench/fanout $(B)
	bench/redis-state $(B)

# lib/ held to its layers (lib/LAYERS; tools/depcheck names each breach):
# no module includes a higher layer's header or calls a higher layer's
# symbol.  L0 util cli; L1 ndjson jsonpos semver walk policy patterns redact
# proc findings; L2 registry adapter declare; L3 state vault audit dups
# rcache worktree rstate; L4 route chain verify keys trail; L5 setup scan clean
# init install.
depcheck: $(LIBSRC:%=$(B)/%.o)
	@tools/depcheck $(B)

# The pages and the scripts, checked; make -j runs the parts at once.
lint: depcheck lint-man lint-adapters lint-scripts

# mandoc resolves .Xr through a man path with a mandoc.db: stage ours.
lint-man: test-deps
	@rm -rf build/man && mkdir -p build/man/man1 build/man/man5 build/man/man7
	@cp $(MAN1) build/man/man1/ && cp $(MAN5) build/man/man5/ && cp $(MAN7) build/man/man7/
	@makewhatis build/man
	@test -f /usr/share/man/mandoc.db || makewhatis /usr/share/man
	MANPATH=$(CURDIR)/build/man:/usr/share/man mandoc -Tlint -Wstyle $(MAN1) $(MAN5) $(MAN7)

lint-adapters: test-deps
	shellcheck -s sh examples/.AIM_ai-tools-registry/AIM_adapters/*.sh examples/script-adapters/AIM_*.sh \
		tests/fixtures/adapters/*.sh tests/fixtures/fanout/tool.sh \
		tests/fixtures/classes/fake-tool tests/fixtures/tools/bin*/* \
		tests/fixtures/declarative/stand-in tests/fixtures/rcache/rc-tool \
		tests/fixtures/rcache/AIM_gen.sh tests/fixtures/install/others/stubs/pipx \
		tests/fixtures/workflow/AIM_ai.sh tests/fixtures/workflow/wf-tool \
		tests/fixtures/fanout/judge/AIM_judge.sh \
		tests/fixtures/registries/redis/AIM_tool.sh

lint-scripts: test-deps
	shellcheck tests/run tests/check tests/tally tests/integration/run tests/integration/check-clis bench/run examples/demo.sh tools/deps.sh tools/depcheck .ci/run \
		bench/dups bench/audit-chain bench/adapters bench/status bench/kit bench/declarative bench/install bench/rcache bench/redis-state \
		bench/fanout tests/fixtures/crush/crush \
		tests/fuzz/mkseeds \
		tools/longest \
		examples/fleet/shard.sh examples/fleet/run-parallel.sh examples/fleet/slurm-array.sh
	yamllint examples/fleet/k8s-indexed-job.yaml

# Besides the programs and the pages (aim(1) FILES): the bash completion
# (one file, aim; the other commands are symlinks to it), the zsh one, the
# adapter kit (lib.sh as adapter.sh) and its error patterns, the example
# registry and the schemas.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
AIMDATADIR ?= $(PREFIX)/share/aim
EXREG	= examples/.AIM_ai-tools-registry
EXDIR	= $(AIMDATADIR)/examples/.AIM_ai-tools-registry
EXFILES	= .gitignore AIM_registry.json aim_config.json \
	AIM_cross-tool/AIM_coordination-rules.json AIM_adapters/lib.sh \
	AIM_adapters/error-patterns
EXADAPTERS = $(filter-out %/lib.sh,$(wildcard $(EXREG)/AIM_adapters/*.sh))
SCHEMAS	= $(wildcard schemas/*.json)
COMPLINKS = $(filter aim-%,$(BINS))

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(BINS:%=$(B)/%) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
		$(DESTDIR)$(AIMDATADIR)/schemas $(DESTDIR)$(EXDIR)/AIM_adapters \
		$(DESTDIR)$(EXDIR)/AIM_cross-tool
	install -m 0644 completion/aim.bash $(DESTDIR)$(BASHCOMPDIR)/aim
	for c in $(COMPLINKS); do \
		ln -sf aim $(DESTDIR)$(BASHCOMPDIR)/$$c || exit 1; done
	install -m 0644 completion/_aim $(DESTDIR)$(ZSHCOMPDIR)/_aim
	install -m 0644 $(EXREG)/AIM_adapters/lib.sh $(DESTDIR)$(AIMDATADIR)/adapter.sh
	install -m 0644 $(EXREG)/AIM_adapters/error-patterns $(DESTDIR)$(AIMDATADIR)/error-patterns
	install -m 0644 $(SCHEMAS) $(DESTDIR)$(AIMDATADIR)/schemas/
	for f in $(EXFILES); do \
		install -m 0644 $(EXREG)/$$f $(DESTDIR)$(EXDIR)/$$f || exit 1; done
	install -m 0755 $(EXADAPTERS) $(DESTDIR)$(EXDIR)/AIM_adapters/

uninstall:
	rm -f $(BINS:%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%)
	rm -f $(MAN5:man/%=$(DESTDIR)$(MANDIR)/man5/%)
	rm -f $(MAN7:man/%=$(DESTDIR)$(MANDIR)/man7/%)
	rm -f $(DESTDIR)$(BASHCOMPDIR)/aim $(DESTDIR)$(ZSHCOMPDIR)/_aim \
		$(COMPLINKS:%=$(DESTDIR)$(BASHCOMPDIR)/%) \
		$(DESTDIR)$(AIMDATADIR)/adapter.sh $(DESTDIR)$(AIMDATADIR)/error-patterns \
		$(SCHEMAS:schemas/%=$(DESTDIR)$(AIMDATADIR)/schemas/%) \
		$(EXFILES:%=$(DESTDIR)$(EXDIR)/%) \
		$(EXADAPTERS:$(EXREG)/%=$(DESTDIR)$(EXDIR)/%)
	rmdir $(DESTDIR)$(EXDIR)/AIM_adapters $(DESTDIR)$(EXDIR)/AIM_cross-tool \
		$(DESTDIR)$(EXDIR) $(DESTDIR)$(AIMDATADIR)/examples \
		$(DESTDIR)$(AIMDATADIR)/schemas $(DESTDIR)$(AIMDATADIR) \
		2>/dev/null || true

clean:
	rm -rf build build-san build-fuzz

.PHONY: all deps test-deps check check-clis check-quick demo bench lint lint-man lint-adapters lint-scripts depcheck install uninstall clean FORCE
FORCE:
.SECONDARY:

# ---- fuzzing (libFuzzer): tests/fuzz/fuzz-*.c, objects in build-fuzz/ ----
# `make fuzz` runs every harness FUZZ_SECONDS (default 60) from the seeds
# (made from tests/fixtures by tests/fuzz/mkseeds), the regression inputs
# and the corpus it grows in build-fuzz/corpus/, FUZZ_JOBS (default 1) of
# them at once; a crash or hang is left in
# build-fuzz/artifacts/<target>/ to be committed under
# tests/fuzz/regressions/<target>/.  `make fuzz-replay` runs each seed and
# regression input once, no fuzzing: non-zero on any crash or hang.
FUZZ_DEPS	= clang
FUZZ_TARGETS	= request registry adapter redact chain checkpoint vault \
	semver expand locate patterns findings state-url
FUZZ_SECONDS	?= 60
FUZZ_JOBS	?= 1	# fuzzers at once (each uses one CPU)
FUZZ_CC		= clang
FB		= build-fuzz
FUZZ_CFLAGS	= -std=c11 -D_GNU_SOURCE $(WARN) -Wno-unknown-warning-option -Ilib -g -O1 \
	-fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_OPTS	= -timeout=25 -rss_limit_mb=2048 -dict=tests/fuzz/json.dict

$(FB)/.dir:
	@mkdir -p $(FB)
	@touch $@

$(FB)/%.o: lib/%.c $(wildcard lib/*.h) $(FB)/.dir
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FB)/libaim.a: $(LIBSRC:%=$(FB)/%.o)
	$(AR) rcs $@ $^

$(FB)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FB)/libaim.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wno-missing-prototypes \
		-DFUZZ_TOP='"$(CURDIR)"' -o $@ $< $(FB)/libaim.a $(LDLIBS)

# aim-resolve's own request path is what fuzz-request drives.
$(FB)/fuzz-request: cmd/aim-resolve.c

$(FB)/seeds/.made: tests/fuzz/mkseeds $(FB)/.dir
	tests/fuzz/mkseeds $(FB)/seeds
	@touch $@

fuzz-build: fuzz-deps $(FUZZ_TARGETS:%=$(FB)/fuzz-%) $(FB)/seeds/.made

fuzz-deps:
	@sh tools/deps.sh $(FUZZ_DEPS)

fuzz: fuzz-build
	@rc=0; n=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FB)/corpus/$$t $(FB)/artifacts/$$t tests/fuzz/regressions/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		{ $(FB)/fuzz-$$t $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) \
		    -close_fd_mask=3 -print_final_stats=1 \
		    -artifact_prefix=$(FB)/artifacts/$$t/ $(FB)/corpus/$$t \
		    $(FB)/seeds/$$t tests/fuzz/regressions/$$t \
		    >$(FB)/fuzz-$$t.log 2>&1; echo $$? >$(FB)/fuzz-$$t.rc; } & \
		n=$$((n + 1)); [ $$n -lt $(FUZZ_JOBS) ] || { wait; n=0; }; \
	done; wait; for t in $(FUZZ_TARGETS); do \
		[ "$$(cat $(FB)/fuzz-$$t.rc)" = 0 ] || { rc=1; \
		    echo "fuzz: $$t FAILED: see $(FB)/fuzz-$$t.log and $(FB)/artifacts/$$t/"; }; \
		printf '%s: ' $$t; \
		grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec)|DONE' \
		    $(FB)/fuzz-$$t.log | tr '\n' ' '; echo; \
	done; exit $$rc

fuzz-replay: fuzz-build
	@rc=0; for t in $(FUZZ_TARGETS); do \
		files=$$(find $(FB)/seeds/$$t tests/fuzz/regressions/$$t -type f \
		    ! -name README 2>/dev/null); \
		[ -n "$$files" ] || continue; \
		if $(FB)/fuzz-$$t -timeout=25 -rss_limit_mb=2048 $$files \
		    >$(FB)/replay-$$t.log 2>&1; then \
			echo "fuzz-replay: $$t: $$(echo "$$files" | wc -l) inputs ok"; \
		else rc=1; echo "fuzz-replay: $$t FAILED: see $(FB)/replay-$$t.log"; fi; \
	done; exit $$rc

.PHONY: fuzz fuzz-build fuzz-deps fuzz-replay
