# vmi-rom/rom.mk: the VMI option ROM. vmi.S is assembled with the guest
# toolchain, linked by its own script (rom.ld) at offset 0, turned into a
# flat image by objcopy, and finished by rom_fix (size check, PnP and ROM
# checksums). The ROM's symbol offsets are generated into a header. Also
# builds the bad-ROM variants the mini-OS tests feed to `tpvm --rom`.

VMI_ROM_DIR := $(B)/vmi-rom
VMI_ROM := $(VMI_ROM_DIR)/vmi.rom
VMI_ROM_OFFSETS_H := $(VMI_ROM_DIR)/vmi_rom_offsets.h
VMI_ROM_FIX := $(VMI_ROM_DIR)/rom_fix
VMI_NM ?= nm

# Variant name -> the define that breaks it (see the top of vmi.S).
VMI_ROM_DEFS_vmi :=
VMI_ROM_DEFS_vmi-badsig := -DVMI_ROM_BAD_SIGNATURE
VMI_ROM_DEFS_vmi-badmajor := -DVMI_ROM_BAD_MAJOR
VMI_ROM_DEFS_vmi-nopci := -DVMI_ROM_NO_PCI
VMI_ROM_DEFS_vmi-nongpl := -DVMI_ROM_NON_GPL
VMI_ROM_DEFS_vmi-unknownvendor := -DVMI_ROM_UNKNOWN_VENDOR
VMI_ROM_DEFS_vmi-initfail := -DVMI_ROM_INIT_FAIL
VMI_ROM_NAMES := vmi vmi-badsig vmi-badmajor vmi-nopci vmi-nongpl \
	vmi-unknownvendor vmi-initfail
VMI_ROM_VARIANTS := $(filter-out $(VMI_ROM),$(VMI_ROM_NAMES:%=$(VMI_ROM_DIR)/%.rom))

VMI_ROM_OBJ := $(VMI_ROM_NAMES:%=$(VMI_ROM_DIR)/%.o)
VMI_ROM_ELF := $(VMI_ROM_NAMES:%=$(VMI_ROM_DIR)/%.elf)
VMI_ROM_RAW := $(VMI_ROM_NAMES:%=$(VMI_ROM_DIR)/%.raw)
VMI_ROM_IMG := $(VMI_ROM_NAMES:%=$(VMI_ROM_DIR)/%.rom)

$(VMI_ROM_OBJ): $(VMI_ROM_DIR)/%.o: vmi-rom/vmi.S vmi-rom/vmi_abi.h config.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 -Wa,--fatal-warnings -Ivmi-rom $(VMI_ROM_DEFS_$*) -c $< -o $@

$(VMI_ROM_ELF): %.elf: %.o vmi-rom/rom.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -T vmi-rom/rom.ld -o $@ $<

$(VMI_ROM_RAW): %.raw: %.elf
	$(OBJCOPY) -O binary -j .rom $< $@

$(VMI_ROM_IMG): %.rom: %.raw $(VMI_ROM_FIX)
	$(VMI_ROM_FIX) $< $@

$(VMI_ROM_FIX): vmi-rom/rom_fix.c vmi-rom/vmi_abi.h config.mk
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $<

# Every global symbol of the ROM as an offset: VMI_ROM_SYM_<name>.
$(VMI_ROM_OFFSETS_H): $(VMI_ROM_DIR)/vmi.elf
	{ echo '/* Generated from $< by vmi-rom/rom.mk: offsets of the ROM symbols. */'; \
	  echo '#ifndef TPVM_VMI_ROM_OFFSETS_H'; echo '#define TPVM_VMI_ROM_OFFSETS_H'; \
	  $(VMI_NM) -g --defined-only $< | \
	    awk '$$2 ~ /^[TtAa]$$/ { printf "#define VMI_ROM_SYM_%s 0x%su\n", $$3, $$1 }' | sort; \
	  echo '#endif'; } >$@.tmp && mv $@.tmp $@

all: $(VMI_ROM) $(VMI_ROM_VARIANTS) $(VMI_ROM_OFFSETS_H)

# The monitor embeds the ROM (.incbin in vmm/vmi.c).
$(B)/obj/vmm/vmi.o: $(VMI_ROM)
$(B)/obj/vmm/vmi.o: private HOST_CFLAGS += -DTPVM_VMI_ROM_FILE='"$(VMI_ROM)"'

# tests/unit/test_vmi_rom.c parses the built image and checks get_reloc
# against the generated offsets.
$(B)/tests/unit/test_vmi_rom: $(VMI_ROM) $(VMI_ROM_OFFSETS_H)
$(B)/tests/unit/test_vmi_rom: private HOST_CFLAGS += -I$(VMI_ROM_DIR) \
	-DVMI_ROM_TEST_FILE='"$(VMI_ROM)"'

.PHONY: vmi-rom
vmi-rom: $(VMI_ROM) $(VMI_ROM_VARIANTS) $(VMI_ROM_OFFSETS_H)
