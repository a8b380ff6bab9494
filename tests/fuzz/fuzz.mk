# SPDX-License-Identifier: ISC
# Fuzzing, included by the top Makefile. One libFuzzer harness per parser,
# in-process, with the protocol sources compiled straight into each one.
#
#   make fuzz              every harness for FUZZ_SECONDS (default 60) each
#   make fuzz-smoke        every harness for FUZZ_SMOKE_SECONDS (default 8) each
#   make fuzz-corpus       rewrite the seed corpora (tests/fuzz/mkcorpus.py)
#   make fuzz-cov          line coverage of the corpora per source file (llvm-cov)
#
# A crash, leak, sanitizer report or harness abort fails the target and leaves
# the input in $(O)/fuzz/crash-<harness>-*; the committed seed corpus in
# tests/fuzz/corpus/<harness>/ is only read, new units go to $(O)/fuzz/work/.

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_SMOKE_SECONDS ?= 8
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
			   keyd/identity.c
FUZZ_LIBS_fuzz_dispatch	 = $(CRYPTO_CFLAGS) $(CRYPTO_LIBS)
FUZZ_EXTRA_fuzz_escape	 = chatc/escape.c
FUZZ_EXTRA_fuzz_deliver	 = chatc/deliver.c
FUZZ_EXTRA_fuzz_conn	 = relayd/conn.c
# protocol/invite.c checks its code with SHA-256: every harness links libcrypto.
# fuzz_chatc: chatc's core (all but main.c) and keyd's request handling, in-process.
FUZZ_EXTRA_fuzz_chatc	 = $(filter-out chatc/main.c,$(wildcard chatc/*.c)) $(FUZZ_EXTRA_fuzz_dispatch)
FUZZ_LIBS_fuzz_chatc	 = $(CRYPTO_CFLAGS) $(CRYPTO_LIBS) $(ARGON2_LIBS)
$(O)/fuzz/fuzz_session: $(FUZZ_EXTRA_fuzz_session) $(wildcard keyd/*.h)
$(O)/fuzz/fuzz_dispatch: $(FUZZ_EXTRA_fuzz_dispatch) $(wildcard keyd/*.h)
$(O)/fuzz/fuzz_escape: $(FUZZ_EXTRA_fuzz_escape) chatc/escape.h
$(O)/fuzz/fuzz_deliver: $(FUZZ_EXTRA_fuzz_deliver) chatc/deliver.h chatc/fe.h
$(O)/fuzz/fuzz_conn: $(FUZZ_EXTRA_fuzz_conn) relayd/conn.h
$(O)/fuzz/fuzz_chatc: $(FUZZ_EXTRA_fuzz_chatc) $(wildcard chatc/*.h) $(wildcard keyd/*.h)

$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(PROTO_SRC) $(wildcard protocol/*.h) $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(PROTO_SRC) \
		$(FUZZ_EXTRA_$(notdir $@)) $(FUZZ_LIBS_$(notdir $@)) $(CRYPTO_LIBS)

# $(call fuzz_run,SECONDS): runs every harness in turn; prints its executions.
define fuzz_run
	$(Q)for h in $(FUZZ_NAMES); do \
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
			exit 1; \
		fi; \
		echo "fuzz: $$h ok, $$execs executions in $(1) s"; \
	done
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
