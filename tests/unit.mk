# tests/unit.mk: cmocka unit tests, one binary per module
# (tests/unit/test_<module>.c -> $(B)/tests/unit/test_<module>), each linked
# against libtpvm.a. `make check` runs them; `make unit` runs only them.

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)

$(B)/tests/unit/%: tests/unit/%.c $(B)/libtpvm.a config.mk
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(CMOCKA_CFLAGS) -MMD -MP $(HOST_LDFLAGS) -o $@ $< \
		$(B)/libtpvm.a $(CMOCKA_LIBS) $(HOST_LIBS)

CHECK_DEPS += $(UNIT_BIN)
CHECK_SCRIPTS += $(UNIT_BIN)

.PHONY: unit
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

-include $(UNIT_BIN:=.d)
