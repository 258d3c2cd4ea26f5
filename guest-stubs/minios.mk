# guest-stubs/minios.mk: the mini-OS (guest-stubs/minios/), linked with
# the compute kernels of guest-stubs/compute (the same object the compute
# guest uses), and its three-path test. `make minios-paths` always runs
# the test; `make check` runs it once MINIOS_IN_CHECK=1.
$(eval $(call guest_rules,minios))
-include $(GUEST_minios_OBJ:.o=.d)

MINIOS_COMPUTE_OBJ := $(call guest_objs,guest-stubs/compute/kernels.c)
GUEST_minios_OBJ += $(MINIOS_COMPUTE_OBJ)
$(B)/guests/minios.elf: $(MINIOS_COMPUTE_OBJ)

$(GUEST_OBJ_DIR)/guest-stubs/minios/%.o: GUEST_EXTRA_CFLAGS := \
	-Iguest-stubs/compute -Ivmi-rom
# user.c is the only text ring 3 may run: its page-aligned markers must
# stay around its functions, and it may not reach kernel text or data.
$(GUEST_OBJ_DIR)/guest-stubs/minios/user.o: GUEST_EXTRA_CFLAGS := \
	-fno-toplevel-reorder -fno-reorder-blocks-and-partition \
	-fno-jump-tables -fno-tree-loop-distribute-patterns -fno-builtin

MINIOS_IN_CHECK ?= 1
ifeq ($(MINIOS_IN_CHECK),1)
CHECK_DEPS += $(B)/guests/minios.elf
CHECK_SCRIPTS += tests/minios-paths.sh
endif

.PHONY: minios-paths
minios-paths: export QEMU := $(QEMU)
minios-paths: $(TPVM) $(B)/guests/minios.elf
	tests/minios-paths.sh
