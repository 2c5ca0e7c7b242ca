# aim: capability routing for AI coding tools, as Unix filters.
# GNU make.  `make`, `make check`, `make demo`, `make bench`, `make install`.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
CFLAGS	?= -O2 -g
WARN	= -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Ilib $(CFLAGS)
LDLIBS	= -ljansson

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

BINS	= aim-resolve aim-invoke aim-audit
LIBSRC	= util ndjson jsonpos registry route proc adapter audit
UNITS	= test-unit
MAN1	= man/aim-resolve.1 man/aim-invoke.1 man/aim-audit.1
MAN5	= man/aim-registry.5
MAN7	= man/aim.7 man/aim-adapter.7

# Debian packages the build, the tests and the demo need.
BUILD_DEPS = gcc make libjansson-dev pkg-config
TEST_DEPS = bats bats-assert bats-support bats-file jq mandoc shellcheck \
	clang-format cppcheck nodejs npm
BENCH_DEPS = hyperfine time

all: $(BINS:%=$(B)/%)

$(B)/.dir:
	@mkdir -p $(B)
	@touch $@

$(B)/%.o: lib/%.c lib/aim.h $(B)/.dir
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libaim.a: $(LIBSRC:%=$(B)/%.o)
	$(AR) rcs $@ $^

$(B)/aim-%: cmd/aim-%.c $(B)/libaim.a
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -o $@ $< $(B)/libaim.a $(LDLIBS)

$(B)/test-%: tests/unit/test-%.c $(B)/libaim.a
	$(CC) $(ALL_CFLAGS) $(SANFLAGS) -o $@ $< $(B)/libaim.a $(LDLIBS)

$(B)/bench-%: bench/%.c
	$(CC) $(ALL_CFLAGS) -o $@ $<

# Install what is missing (Debian; as root, else through sudo).
deps:
	@sh tools/deps.sh $(BUILD_DEPS)

test-deps:
	@sh tools/deps.sh $(BUILD_DEPS) $(TEST_DEPS)

# The suite, then the same suite under ASan+UBSan, then the real CLIs.
check: test-deps
	@$(MAKE) --no-print-directory all $(UNITS:%=$(B)/%)
	tests/run $(B)
	@$(MAKE) --no-print-directory SAN=1 all $(UNITS:%=build-san/%)
	tests/run build-san
	tests/integration/run $(B)

# Only the plain suite: quicker while working.
check-quick: test-deps
	@$(MAKE) --no-print-directory all $(UNITS:%=$(B)/%)
	tests/run $(B)

demo: test-deps all
	examples/demo.sh $(B)

bench: test-deps
	@sh tools/deps.sh $(BENCH_DEPS)
	@$(MAKE) --no-print-directory all $(B)/bench-echo-adapter $(B)/bench-spawn-loop
	bench/run $(B)

lint: test-deps
	mandoc -Tlint -Wstyle $(MAN1) $(MAN5) $(MAN7)
	shellcheck -s sh examples/.AIM_ai-tools-registry/AIM_adapters/*.sh
	shellcheck tests/run tests/integration/run bench/run examples/demo.sh tools/deps.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	cp $(BINS:%=$(B)/%) $(DESTDIR)$(BINDIR)/
	cp $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	cp $(MAN7) $(DESTDIR)$(MANDIR)/man7/

uninstall:
	rm -f $(BINS:%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%)
	rm -f $(MAN5:man/%=$(DESTDIR)$(MANDIR)/man5/%)
	rm -f $(MAN7:man/%=$(DESTDIR)$(MANDIR)/man7/%)

clean:
	rm -rf build build-san

.PHONY: all deps test-deps check check-quick demo bench lint install uninstall clean
.SECONDARY:
