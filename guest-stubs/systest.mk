# guest-stubs/systest.mk: the system test kernel (guest-stubs/systest/) and
# its QEMU-vs-tpvm comparison, tests/systest-vs-qemu.sh. `make systest`
# always runs the comparison; `make check` runs it too (SYSTEST_IN_CHECK=0
# leaves it out).
$(eval $(call guest_rules,systest))
# guests.mk includes the dependency files before this fragment is read.
-include $(GUEST_systest_OBJ:.o=.d)

SYSTEST_IN_CHECK ?= 1
ifeq ($(SYSTEST_IN_CHECK),1)
CHECK_DEPS += $(B)/guests/systest.elf
CHECK_SCRIPTS += tests/systest-vs-qemu.sh
endif

.PHONY: systest
systest: export QEMU := $(QEMU)
systest: $(TPVM) $(B)/guests/systest.elf
	tests/systest-vs-qemu.sh
