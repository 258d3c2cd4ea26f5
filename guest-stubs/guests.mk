# guest-stubs/guests.mk: builds the Multiboot guests. Every guest is the
# sources of one directory guest-stubs/<name>/ linked with the shared
# runtime in guest-stubs/lib/ into $(B)/guests/<name>.elf; adding a guest is
# one $(eval $(call guest_rules,<name>)) line.

GUEST_LIB_DIR := guest-stubs/lib
GUEST_LD_SCRIPT := $(GUEST_LIB_DIR)/guest.ld
GUEST_OBJ_DIR := $(B)/guest-obj

# -g for symbols in tpvm traces; the rest comes from configure.
GUEST_STUB_CFLAGS := -std=c17 -g -I$(GUEST_LIB_DIR)
# The runtime's own string functions must not become calls to themselves.
GUEST_LIB_CFLAGS := -fno-tree-loop-distribute-patterns

# guest-stubs/x/y.c (or .S) -> $(B)/guest-obj/guest-stubs/x/y.o
guest_objs = $(patsubst %,$(GUEST_OBJ_DIR)/%.o,$(basename $(1)))

GUEST_LIB_SRC := $(sort $(wildcard $(GUEST_LIB_DIR)/*.c $(GUEST_LIB_DIR)/*.S))
GUEST_LIB_OBJ := $(call guest_objs,$(GUEST_LIB_SRC))

$(GUEST_LIB_OBJ): GUEST_EXTRA_CFLAGS := $(GUEST_LIB_CFLAGS)

$(GUEST_OBJ_DIR)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_STUB_CFLAGS) $(GUEST_EXTRA_CFLAGS) \
		-MMD -MP -c $< -o $@

$(GUEST_OBJ_DIR)/%.o: %.S config.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_STUB_CFLAGS) -MMD -MP -c $< -o $@

# $(1): guest name. Links every .c/.S of guest-stubs/$(1)/ with the runtime.
define guest_rules
GUEST_$(1)_OBJ := $$(call guest_objs,$$(sort $$(wildcard guest-stubs/$(1)/*.c guest-stubs/$(1)/*.S)))

$(B)/guests/$(1).elf: $$(GUEST_$(1)_OBJ) $$(GUEST_LIB_OBJ) $$(GUEST_LD_SCRIPT)
	@mkdir -p $$(dir $$@)
	$$(GUEST_CC) $$(GUEST_CFLAGS) $$(GUEST_LDFLAGS) -T $$(GUEST_LD_SCRIPT) \
		-o $$@ $$(GUEST_$(1)_OBJ) $$(GUEST_LIB_OBJ) $$(GUEST_LIBS)

GUESTS += $(B)/guests/$(1).elf
GUEST_DEPS += $$(GUEST_$(1)_OBJ:.o=.d)
endef

GUEST_DEPS := $(GUEST_LIB_OBJ:.o=.d)
$(eval $(call guest_rules,hello))
$(eval $(call guest_rules,compute))

# perf/ builds the same kernels for the host.
export COMPUTE_KERNELS_SRC := guest-stubs/compute/kernels.c

# Boots each guest under QEMU and tpvm and compares what they print; also
# compares the compute checksums with perf/'s native build of the kernels.
CHECK_DEPS += $(B)/guests/hello.elf $(B)/guests/compute.elf \
	$(B)/perf/native-compute
CHECK_SCRIPTS += tests/guest-output-vs-qemu.sh
check: export QEMU := $(QEMU)

-include $(GUEST_DEPS)
