# tests/fpu.mk: the x87 suite (tests/fpu/*.c), tpvm's translator against
# Unicorn plus the #NM/#MF/#PF rules. `make check` runs it; `make fpu`
# runs only it.

FPU_SRC := $(sort $(wildcard tests/fpu/*.c)) tests/common/strict_host.c
FPU_OBJ := $(FPU_SRC:%.c=$(B)/obj/%.o)
FPU_BIN := $(B)/tests/fpu-unicorn

$(FPU_OBJ): HOST_CFLAGS += $(UNICORN_CFLAGS) $(CMOCKA_CFLAGS)

$(FPU_BIN): $(FPU_OBJ) $(B)/libtpvm.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_LDFLAGS) -o $@ $(FPU_OBJ) $(B)/libtpvm.a $(UNICORN_LIBS) \
		$(CMOCKA_LIBS) $(HOST_LIBS)

CHECK_DEPS += $(FPU_BIN)
CHECK_SCRIPTS += $(FPU_BIN)

.PHONY: fpu
fpu: $(FPU_BIN)
	$(FPU_BIN)

-include $(FPU_OBJ:.o=.d)
