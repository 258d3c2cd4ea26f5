# vmi-rom/rom.mk: build rules of the VMI option ROM. Empty for now: the ROM
# (GNU as source, its own linker script, objcopy -O binary, entry offsets
# generated into a header) arrives with a later issue.
