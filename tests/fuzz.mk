# tests/fuzz.mk: the random-code-page robustness fuzzer. make check runs
# 10,000 pages; make fuzz runs FUZZ_PAGES (default 200,000).
FUZZ_BIN := $(B)/tests/fuzz-pages
FUZZ_PAGES ?= 200000

$(FUZZ_BIN): tests/fuzz/fuzz_pages.c $(B)/libtpvm.a config.mk
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP $(HOST_LDFLAGS) -o $@ $< $(B)/libtpvm.a $(HOST_LIBS)

CHECK_DEPS += $(FUZZ_BIN)
CHECK_SCRIPTS += $(FUZZ_BIN)

.PHONY: fuzz
fuzz: $(FUZZ_BIN)
	$(FUZZ_BIN) $(FUZZ_PAGES)

-include $(FUZZ_BIN).d
