# tests/diff.mk: the differential instruction test, tpvm's translator
# against Unicorn (tests/diff/README.md). `make check` runs it; `make check-diff`
# runs only it.

DIFF_SRC := $(sort $(wildcard tests/diff/*.c)) tests/common/strict_host.c
DIFF_OBJ := $(DIFF_SRC:%.c=$(B)/obj/%.o)
DIFF_BIN := $(B)/tests/diff-unicorn

$(DIFF_OBJ): HOST_CFLAGS += $(UNICORN_CFLAGS)

$(DIFF_BIN): $(DIFF_OBJ) $(B)/libtpvm.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $(DIFF_OBJ) $(B)/libtpvm.a $(UNICORN_LIBS) $(HOST_LIBS)

CHECK_DEPS += $(DIFF_BIN)
CHECK_SCRIPTS += $(DIFF_BIN)

.PHONY: check-diff
check-diff: $(DIFF_BIN)
	$(DIFF_BIN)

-include $(DIFF_OBJ:.o=.d)
