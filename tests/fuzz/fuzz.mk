# SPDX-License-Identifier: ISC
# Fuzzing, included by the top Makefile. One libFuzzer harness per parser,
# in-process, with the protocol sources compiled straight into each one.
#
#   make fuzz              every harness for FUZZ_SECONDS (default 60) each
#   make fuzz-smoke        every harness for FUZZ_SMOKE_SECONDS (default 5) each
#   make fuzz-corpus       rewrite the seed corpora (tests/fuzz/mkcorpus.py)
#   make fuzz-cov          line coverage of the corpora per source file (llvm-cov)
#
# A crash, leak, sanitizer report or harness abort fails the target and leaves
# the input in $(O)/fuzz/crash-<harness>-*; the committed seed corpus in
# tests/fuzz/corpus/<harness>/ is only read, new units go to $(O)/fuzz/work/.

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_CFLAGS	:= -std=c11 -g -O1 -fno-omit-frame-pointer $(WARN) -D_GNU_SOURCE \
		   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		   -Iprotocol -Ikeyd -Isandbox -Irelayd -Ichatc
FUZZ_NAMES	:= $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_BINS	:= $(addprefix $(O)/fuzz/,$(FUZZ_NAMES))
# Large enough for any frame over the hard limit and any IPC batch worth exploring.
FUZZ_MAXLEN	?= 70000

# Harnesses over keyd, chatc or relayd code: FUZZ_EXTRA_<harness> lists the
# sources compiled in besides the protocol ones, FUZZ_LIBS_<harness> the libraries.
FUZZ_KEYD_SRC	:= keyd/session.c keyd/crypto.c
FUZZ_EXTRA_fuzz_session	 = $(FUZZ_KEYD_SRC)
FUZZ_LIBS_fuzz_session	 = $(CRYPTO_CFLAGS) $(CRYPTO_LIBS)
FUZZ_EXTRA_fuzz_dispatch = $(FUZZ_KEYD_SRC) keyd/dispatch.c keyd/pins.c keyd/trust.c \
			   keyd/identity.c keyd/hist.c
FUZZ_LIBS_fuzz_dispatch	 = $(CRYPTO_CFLAGS) $(CRYPTO_LIBS)
FUZZ_EXTRA_fuzz_escape	 = chatc/escape.c
FUZZ_EXTRA_fuzz_conn	 = relayd/conn.c relayd/tls.c
FUZZ_LIBS_fuzz_conn	 = $(SSL_LIBS)
# The relay's TLS paths: the whole relay, in-process behind a socketpair
# (its cluster link too, unused there, which links libnats).
FUZZ_EXTRA_fuzz_relay_tls = $(filter-out relayd/main.c,$(wildcard relayd/*.c))
FUZZ_LIBS_fuzz_relay_tls = $(NATS_LIBS) $(SSL_LIBS)
# Relay key fingerprints and chatc's known_relays lines.
FUZZ_EXTRA_fuzz_relayfp	 = chatc/tls.c
FUZZ_LIBS_fuzz_relayfp	 = $(SSL_LIBS)
# chatc.conf: the parser, and the option helpers it checks values with.
FUZZ_EXTRA_fuzz_conf	 = chatc/conf.c chatc/options.c chatc/escape.c chatc/roomkey.c
FUZZ_LIBS_fuzz_conf	 = $(CRYPTO_CFLAGS) $(CRYPTO_LIBS) $(ARGON2_LIBS)
# The history file and records: the codec part of chatc/hist.c, with what it needs.
FUZZ_EXTRA_fuzz_hist	 = $(filter-out chatc/main.c,$(wildcard chatc/*.c))
FUZZ_LIBS_fuzz_hist	 = $(CRYPTO_CFLAGS) $(SSL_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS) $(TINFO_LIBS)
FUZZ_EXTRA_fuzz_deliver	 = chatc/deliver.c
# protocol/invite.c checks its code with SHA-256: every harness links libcrypto.
# fuzz_chatc: chatc's core (all but main.c) and keyd's request handling, in-process.
FUZZ_EXTRA_fuzz_chatc	 = $(filter-out chatc/main.c,$(wildcard chatc/*.c)) $(FUZZ_EXTRA_fuzz_dispatch)
FUZZ_LIBS_fuzz_chatc	 = $(CRYPTO_CFLAGS) $(SSL_LIBS) $(CRYPTO_LIBS) $(ARGON2_LIBS) $(TINFO_LIBS)
# The relay cluster (PROTOCOL.md 5): its messages, its logic, the credentials file.
FUZZ_EXTRA_fuzz_clmsg	 = relayd/clmsg.c
FUZZ_EXTRA_fuzz_clcore	 = relayd/clcore.c relayd/clmsg.c relayd/hash.c
FUZZ_EXTRA_fuzz_clcreds	 = relayd/clcreds.c
$(O)/fuzz/fuzz_clmsg: $(FUZZ_EXTRA_fuzz_clmsg) relayd/clmsg.h
$(O)/fuzz/fuzz_clcore: $(FUZZ_EXTRA_fuzz_clcore) relayd/clcore.h relayd/clmsg.h
$(O)/fuzz/fuzz_clcreds: $(FUZZ_EXTRA_fuzz_clcreds) relayd/clcreds.h
$(O)/fuzz/fuzz_session: $(FUZZ_EXTRA_fuzz_session) $(wildcard keyd/*.h)
$(O)/fuzz/fuzz_dispatch: $(FUZZ_EXTRA_fuzz_dispatch) $(wildcard keyd/*.h)
$(O)/fuzz/fuzz_escape: $(FUZZ_EXTRA_fuzz_escape) chatc/escape.h
$(O)/fuzz/fuzz_conn: $(FUZZ_EXTRA_fuzz_conn) relayd/conn.h relayd/tls.h
$(O)/fuzz/fuzz_conf: $(FUZZ_EXTRA_fuzz_conf) $(wildcard chatc/*.h)
$(O)/fuzz/fuzz_hist: $(FUZZ_EXTRA_fuzz_hist) $(wildcard chatc/*.h)
$(O)/fuzz/fuzz_deliver: $(FUZZ_EXTRA_fuzz_deliver) chatc/deliver.h chatc/fe.h
$(O)/fuzz/fuzz_chatc: $(FUZZ_EXTRA_fuzz_chatc) $(wildcard chatc/*.h) $(wildcard keyd/*.h)
$(O)/fuzz/fuzz_relay_tls: $(FUZZ_EXTRA_fuzz_relay_tls) $(wildcard relayd/*.h)
$(O)/fuzz/fuzz_relayfp: $(FUZZ_EXTRA_fuzz_relayfp) $(wildcard chatc/*.h)

$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(PROTO_SRC) $(wildcard protocol/*.h) $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(PROTO_SRC) \
		$(FUZZ_EXTRA_$(notdir $@)) $(FUZZ_LIBS_$(notdir $@)) $(CRYPTO_LIBS)

# $(call fuzz_run,SECONDS): runs every harness in turn; prints its executions,
# then "fuzz: N passed, N failed" (a harness that fails does not stop the rest).
define fuzz_run
	$(Q)pass=0; failed=0; for h in $(FUZZ_NAMES); do \
		mkdir -p $(O)/fuzz/work/$$h; \
		log=$(O)/fuzz/$$h.log; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(O)/fuzz/$$h -max_total_time=$(1) -print_final_stats=1 \
			-max_len=$(FUZZ_MAXLEN) -artifact_prefix=$(O)/fuzz/crash-$$h- \
			$(O)/fuzz/work/$$h tests/fuzz/corpus/$$h > $$log 2>&1; \
		rc=$$?; \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
		if [ $$rc -ne 0 ]; then \
			tail -n 40 $$log; \
			echo "fuzz: $$h FAILED after $${execs:-?} executions (log $$log)"; \
			failed=$$((failed + 1)); \
			continue; \
		fi; \
		pass=$$((pass + 1)); \
		echo "fuzz: $$h ok, $$execs executions in $(1) s"; \
	done; \
	echo "fuzz: $$pass passed, $$failed failed"; \
	[ $$failed -eq 0 ]
endef

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

fuzz-corpus:
	$(Q)python3 tests/fuzz/mkcorpus.py

# Line coverage the corpora reach: each harness rebuilt with source-based
# coverage (no sanitizers), run once over its seeds and what `make fuzz`
# found in $(O)/fuzz/work, then one llvm-cov report per source file.
LLVM_PROFDATA	?= $(firstword $(shell command -v llvm-profdata-14 llvm-profdata 2>/dev/null))
LLVM_COV	?= $(firstword $(shell command -v llvm-cov-14 llvm-cov 2>/dev/null))
FUZZ_COV_CFLAGS	:= -std=c11 -g -O0 $(WARN) -D_GNU_SOURCE -fsanitize=fuzzer \
		   -fprofile-instr-generate -fcoverage-mapping \
		   -Iprotocol -Ikeyd -Isandbox -Irelayd -Ichatc
FUZZ_COV_BINS	:= $(addprefix $(O)/fuzz-cov/,$(FUZZ_NAMES))

$(O)/fuzz-cov/fuzz_%: tests/fuzz/fuzz_%.c $(PROTO_SRC) $(wildcard protocol/*.h) $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  COVCC   $@")
	$(Q)$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -o $@ $< $(PROTO_SRC) \
		$(FUZZ_EXTRA_$(notdir $@)) $(FUZZ_LIBS_$(notdir $@)) $(CRYPTO_LIBS)

fuzz-cov: $(FUZZ_COV_BINS)
	$(Q)rm -f $(O)/fuzz-cov/*.profraw
	$(Q)for h in $(FUZZ_NAMES); do \
		mkdir -p $(O)/fuzz/work/$$h; \
		LLVM_PROFILE_FILE=$(O)/fuzz-cov/$$h.profraw $(O)/fuzz-cov/$$h -runs=0 \
			-max_len=$(FUZZ_MAXLEN) $(O)/fuzz/work/$$h tests/fuzz/corpus/$$h \
			> $(O)/fuzz-cov/$$h.log 2>&1 || { tail -n 20 $(O)/fuzz-cov/$$h.log; exit 1; }; \
	done
	$(Q)$(LLVM_PROFDATA) merge -sparse -o $(O)/fuzz-cov/all.profdata $(O)/fuzz-cov/*.profraw
	$(Q)$(LLVM_COV) report -instr-profile=$(O)/fuzz-cov/all.profdata \
		$(firstword $(FUZZ_COV_BINS)) $(addprefix -object ,$(wordlist 2,99,$(FUZZ_COV_BINS))) \
		$(sort $(PROTO_SRC) $(foreach h,$(FUZZ_NAMES),$(FUZZ_EXTRA_$(h))))

.PHONY: fuzz-corpus fuzz-cov
