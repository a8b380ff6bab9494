# SPDX-License-Identifier: ISC
# `make bench`: relayd and keyd against reference relays and the machine's
# limits (issue 7). Included by the top-level Makefile. The bench programs
# must build; relayd, keyd, chatc and keyd_bench are built when their sources
# exist, and bench/run.sh says what it skipped for anything missing.

BENCH_FWD	:= $(O)/bench/fwd
BENCH_LOAD	:= $(O)/bench/load
BENCH_KEYD	:= $(O)/bench/keyd_bench

$(BENCH_FWD): $(O)/bench/fwd.o $(LIBPROTO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^

# load speaks TLS with --tls 1 (the same client for relayd and nats-server).
$(BENCH_LOAD): $(O)/bench/load.o $(LIBPROTO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(SSL_LIBS) $(CRYPTO_LIBS)

# keyd_bench measures keyd over its socket and keyd's crypto core directly.
$(BENCH_KEYD): $(O)/bench/keyd_bench.o $(LIBKEYD) $(LIBPROTO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CRYPTO_LIBS)

BENCH_OPT := $(if $(wildcard relayd/main.c),$(BIN)/relayd) \
	     $(if $(wildcard keyd/main.c),$(BIN)/keyd) \
	     $(if $(wildcard chatc/main.c),$(BIN)/chatc) \
	     $(if $(wildcard keyd/crypto.c),$(BENCH_KEYD))

bench: $(BENCH_FWD) $(BENCH_LOAD)
	$(Q)for t in $(BENCH_OPT); do \
		$(MAKE) -s --no-print-directory $$t || echo "bench: could not build $$t, going on"; \
	done
	$(Q)BIN=$(abspath $(BIN)) BENCH_BIN=$(abspath $(O)/bench) sh bench/run.sh
