/* systest: the two-level page tables the paging checks switch on: low
 * 4 MiB identity mapped with 4 KiB user pages, 4-8 MiB and an alias of
 * 0-4 MiB as 4 MiB pages, and a table of test pages at TEST_LINEAR. */
#include "systest.h"

uint32_t page_dir[1024] __attribute__((aligned(PAGE_SIZE)));
uint32_t page_table_low[1024] __attribute__((aligned(PAGE_SIZE)));
uint32_t page_table_test[1024] __attribute__((aligned(PAGE_SIZE)));
uint8_t test_frames[TEST_FRAMES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

#define FOUR_MIB 0x400000u

void paging_build(void)
{
    memset(page_dir, 0, sizeof(page_dir));
    for (uint32_t i = 0; i < 1024; i++)
        page_table_low[i] = i * PAGE_SIZE | PTE_P | PTE_W | PTE_U;
    memset(page_table_test, 0, sizeof(page_table_test));

    page_dir[0] = ADDR(page_table_low) | PTE_P | PTE_W | PTE_U;
    page_dir[1] = FOUR_MIB | PTE_PS | PTE_P | PTE_W | PTE_U;
    page_dir[TEST_LINEAR >> 22] =
        ADDR(page_table_test) | PTE_P | PTE_W | PTE_U;
    page_dir[PSE_ALIAS >> 22] = 0 | PTE_PS | PTE_P | PTE_W;
}

void paging_on(void)
{
    write_cr3(ADDR(page_dir));
    write_cr4(read_cr4() | CR4_PSE);
    write_cr0(read_cr0() | CR0_PG);
}

void paging_off(void)
{
    write_cr0(read_cr0() & ~CR0_PG);
    write_cr4(read_cr4() & ~(CR4_PSE | CR4_PGE));
}
