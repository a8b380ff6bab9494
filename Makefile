# SPDX-License-Identifier: ISC
# veil: one plain Makefile. `make V=1` shows the commands.

VERSION	:= 0.1.0
O	?= build
BIN	?= bin
SANDBOX	?= 1
PREFIX	?= /usr/local
DESTDIR	?=
CFLAGS	?= -O2 -g
PKG_CONFIG ?= pkg-config

WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wcast-qual -Wsign-compare -Wformat=2 -Wundef -Wvla
HARDEN	:= -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now

# Lazy (=) so pkg-config only runs once a target needs it (after `make deps`).
CRYPTO_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libcrypto)
CRYPTO_LIBS	= $(shell $(PKG_CONFIG) --libs libcrypto)
SSL_LIBS	= $(shell $(PKG_CONFIG) --libs libssl)
SECCOMP_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libseccomp)
SECCOMP_LIBS	= $(shell $(PKG_CONFIG) --libs libseccomp)
CHECK_CFLAGS	= $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS	= $(shell $(PKG_CONFIG) --libs check)
JANSSON_LIBS	= $(shell $(PKG_CONFIG) --libs jansson)
ARGON2_LIBS	= $(shell $(PKG_CONFIG) --libs libargon2)
NATS_LIBS	= $(shell $(PKG_CONFIG) --libs libnats)
# chatc's screen reads what the terminal can do from terminfo (ncurses' libtinfo).
TINFO_LIBS	= $(shell $(PKG_CONFIG) --libs tinfo)

DEFS	:= -D_GNU_SOURCE -DVEIL_VERSION='"$(VERSION)"'
ifeq ($(SANDBOX),0)
DEFS	+= -DVEIL_NO_SANDBOX
endif
INCS	:= -Iprotocol -Isandbox -Ikeyd -Irelayd -Ichatc
ALL_CFLAGS = -std=c11 $(WARN) $(HARDEN) $(DEFS) $(INCS) $(CRYPTO_CFLAGS) \
	     $(SECCOMP_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Each program is its main.c plus a library of everything else in its folder,
# so the unit tests link the same code the programs run.
PROTO_SRC  := $(wildcard protocol/*.c)
SBX_SRC    := $(wildcard sandbox/*.c)
RELAYD_SRC := $(filter-out relayd/main.c,$(wildcard relayd/*.c))
KEYD_SRC   := $(filter-out keyd/main.c,$(wildcard keyd/*.c))
CHATC_SRC  := $(filter-out chatc/main.c,$(wildcard chatc/*.c))
UNIT_SRC   := $(wildcard tests/unit/*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(O)/%.o,$(1))

LIBPROTO  := $(O)/libproto.a
LIBSBX    := $(O)/libsandbox.a
LIBRELAYD := $(O)/librelayd.a
LIBKEYD   := $(O)/libkeyd.a
LIBCHATC  := $(O)/libchatc.a

PROGS := $(BIN)/relayd $(BIN)/keyd $(BIN)/chatc

.PHONY: all deps check unit e2e fuzz fuzz-smoke sanitize analyze bench demo install-files \
	install install-files uninstall clean hygiene valgrind
all: $(PROGS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

define lib_rule
$(1): $(call obj,$(2))
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^
endef
$(eval $(call lib_rule,$(LIBPROTO),$(PROTO_SRC)))
$(eval $(call lib_rule,$(LIBSBX),$(SBX_SRC)))
$(eval $(call lib_rule,$(LIBRELAYD),$(RELAYD_SRC)))
$(eval $(call lib_rule,$(LIBKEYD),$(KEYD_SRC)))
$(eval $(call lib_rule,$(LIBCHATC),$(CHATC_SRC)))

# relayd links libssl for its TLS 1.3 link (relayd/tls.c), set up before the sandbox,
# and libnats for --cluster (relayd/cluster.c, PROTOCOL.md 5); nothing else does.
$(BIN)/relayd: $(O)/relayd/main.o $(LIBRELAYD) $(LIBSBX) $(LIBPROTO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(NATS_LIBS) $(SSL_LIBS) $(CRYPTO_LIBS) $(SECCOMP_LIBS)

$(BIN)/keyd: $(O)/keyd/main.o $(LIBKEYD) $(LIBSBX) $(LIBPROTO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CRYPTO_LIBS) $(SECCOMP_LIBS)

# chatc links libcrypto and libargon2 for the room id and key (PROTOCOL.md 4),
# computed before the sandbox, and libssl for its TLS link to the relay
# (chatc/tls.c, PROTOCOL.md 1.0); it holds no other key. libtinfo: the
# terminal's description, read before the sandbox (chatc/term.c).
$(BIN)/chatc: $(O)/chatc/main.o $(LIBCHATC) $(LIBSBX) $(LIBPROTO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(SSL_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS) \
		$(TINFO_LIBS) $(SECCOMP_LIBS)

# Unit tests: tests/unit/main.c runs every suite_<name>() that a
# tests/unit/check_<name>.c defines; the list is generated from the file names.
$(O)/tests/unit/suites.inc: $(UNIT_SRC)
	@mkdir -p $(dir $@)
	$(Q)for f in $(sort $(notdir $(filter tests/unit/check_%.c,$(UNIT_SRC)))); do \
		n=$${f#check_}; echo "SUITE($${n%.c})"; done > $@.tmp && mv $@.tmp $@
$(O)/tests/unit/main.o: $(O)/tests/unit/suites.inc
$(O)/tests/unit/%.o: ALL_CFLAGS += $(CHECK_CFLAGS) -I$(O)/tests/unit -Itests/unit

$(O)/unit-tests: $(call obj,$(UNIT_SRC)) $(LIBCHATC) $(LIBKEYD) $(LIBRELAYD) $(LIBSBX) $(LIBPROTO)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(JANSSON_LIBS) $(NATS_LIBS) $(SSL_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS) $(TINFO_LIBS) $(SECCOMP_LIBS)

deps:
	$(Q)sh tests/deps.sh

# What the code under test says on stderr while tests exercise its error
# paths goes to $(O)/unit-stderr.log (tests/unit/main.c).
unit: $(O)/unit-tests
	$(Q)VEIL_VECTORS=$${VEIL_VECTORS:-../shared/vectors} \
		VEIL_UNIT_STDERR=$(abspath $(O))/unit-stderr.log $(O)/unit-tests

e2e: all
	$(Q)BIN=$(abspath $(BIN)) sh tests/e2e/run.sh

# Every stage runs even when an earlier one failed; the last line adds up
# unit tests, e2e scripts, fuzz harnesses and the static analysis
# (tests/check.sh).
check: deps
	$(Q)$(MAKE) --no-print-directory all $(O)/unit-tests
	$(Q)sh tests/check.sh "$(MAKE) --no-print-directory"

demo: all
	$(Q)BIN=$(abspath $(BIN)) sh tests/demo.sh

# Area fragments: fuzzing (tests/fuzz), benchmarks (bench).
-include tests/fuzz/fuzz.mk
-include bench/bench.mk

# Static analysis, configuration in the repo (.clang-tidy, the cppcheck flags
# here). The tree must be clean: make check fails otherwise.
analyze: deps
	$(Q)sh tests/analyze.sh "-D_GNU_SOURCE $(INCS)"

# Test builds only: KEYLOG=1 makes keyd's session engine write every secret it
# derives to the descriptor VEIL_KEYLOG_FD names (tests/e2e/t_hygiene_keys.sh).
# Never in a normal build: without it the hook is not compiled at all.
ifeq ($(KEYLOG),1)
DEFS	+= -DVEIL_KEYLOG
endif

# Secret hygiene: a keylog keyd in build-keylog, its memory scanned (root).
hygiene: deps
	$(Q)$(MAKE) --no-print-directory O=build-keylog BIN=build-keylog/bin KEYLOG=1 all
	$(Q)BIN=$(abspath build-keylog/bin) sh tests/e2e/run.sh $(abspath tests/e2e/t_hygiene_keys.sh)

# Unit tests and one conversation under valgrind (SANDBOX=0: valgrind 3.19
# cannot run seccomp filters), in build-vg.
valgrind: deps
	$(Q)sh tests/valgrind.sh

# The whole suite, unit and end-to-end, under ASan + UBSan. The seccomp filters
# are compiled out by the build switch (SANDBOX=0): the sanitizer runtimes do
# not survive a strict filter. The two first-contact floods (t_e2e_flood,
# t_keyd_trust) run 2,000 contacts here instead of 11,000: the same code
# paths (the pin budget is spent after about 60), a fifth of the time.
# Check's 4 s per test becomes 20 s: Argon2id's 64 MiB and the 5200-fold
# fingerprint hash run several times slower under ASan. E2E_SANITIZE=1: the
# scripts about timing and figures are left out (tests/e2e/run.sh).
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
sanitize: deps
	$(Q)$(MAKE) --no-print-directory O=build-san BIN=build-san/bin SANDBOX=0 CC=clang \
		CFLAGS="$(SAN_FLAGS)" all build-san/unit-tests
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		FLOOD=2000 VEIL_FLOOD=2000 CK_TIMEOUT_MULTIPLIER=5 E2E_SANITIZE=1 $(MAKE) --no-print-directory O=build-san BIN=build-san/bin SANDBOX=0 CC=clang \
		CFLAGS="$(SAN_FLAGS)" unit e2e

BINDIR	 = $(PREFIX)/bin
SBINDIR	 = $(PREFIX)/sbin
MANDIR	 = $(PREFIX)/share/man
UNITDIR	 = $(PREFIX)/lib/systemd/system
UUNITDIR = $(PREFIX)/lib/systemd/user

install: all
	$(Q)$(MAKE) --no-print-directory install-files

# install-files lays out what is already built (tests/e2e/t_install.sh uses it).
install-files:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(UUNITDIR)
	install -m 0755 $(BIN)/keyd $(BIN)/chatc $(DESTDIR)$(BINDIR)/
	install -m 0755 $(BIN)/relayd $(DESTDIR)$(SBINDIR)/
	install -m 0644 docs/keyd.1 docs/chatc.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/relayd.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|@SBINDIR@|$(SBINDIR)|g' relayd/relayd.service > $(DESTDIR)$(UNITDIR)/relayd.service
	sed 's|@BINDIR@|$(BINDIR)|g' keyd/keyd.service > $(DESTDIR)$(UUNITDIR)/keyd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/relayd.service $(DESTDIR)$(UUNITDIR)/keyd.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/keyd $(DESTDIR)$(BINDIR)/chatc $(DESTDIR)$(SBINDIR)/relayd \
	      $(DESTDIR)$(MANDIR)/man1/keyd.1 $(DESTDIR)$(MANDIR)/man1/chatc.1 \
	      $(DESTDIR)$(MANDIR)/man8/relayd.8 $(DESTDIR)$(UNITDIR)/relayd.service \
	      $(DESTDIR)$(UUNITDIR)/keyd.service

clean:
	rm -rf $(O) $(BIN) build-*

-include $(shell find $(O) -name '*.d' 2>/dev/null)
