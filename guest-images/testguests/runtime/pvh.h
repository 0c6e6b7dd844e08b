/* The PVH start-of-day structures a loader hands the guest in EBX (Xen PVH boot ABI,
   xen/include/public/arch-x86/hvm/start_info.h, "Start of day structure passed to PVH guests and
   to HVM guests in %ebx"). Layout is fixed by the ABI; the asserts pin it for -m32 builds. */
#ifndef TESTGUEST_PVH_H
#define TESTGUEST_PVH_H

#include <stddef.h>
#include <stdint.h>

#define HVM_START_MAGIC_VALUE 0x336ec578u

struct hvm_start_info {
    uint32_t magic;          /* HVM_START_MAGIC_VALUE */
    uint32_t version;        /* 0, or 1 when the memory map fields below are present */
    uint32_t flags;
    uint32_t nr_modules;     /* entries in the module list (module 0 is the initrd) */
    uint64_t modlist_paddr;  /* struct hvm_modlist_entry[nr_modules] */
    uint64_t cmdline_paddr;  /* NUL-terminated ASCII, 0 when there is none */
    uint64_t rsdp_paddr;     /* ACPI RSDP, 0 when absent */
    /* version >= 1 */
    uint64_t memmap_paddr;   /* struct hvm_memmap_table_entry[memmap_entries] */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;           /* E820 types: 1 RAM, 2 reserved, 3 ACPI, ... */
    uint32_t reserved;
};

_Static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 16, "start_info layout");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40, "start_info layout");
_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry layout");

/* Guest-physical addresses above 4 GiB are not reachable with paging off: callers treat them as
   absent. Returns NULL for 0 or such an address. */
static inline const void* pvh_pointer(uint64_t paddr)
{
    if (paddr == 0 || paddr > 0xffffffffu)
        return NULL;
    return (const void*)(uintptr_t)paddr;
}

/* The command line, or "" when the loader gave none. */
static inline const char* pvh_cmdline(const struct hvm_start_info* info)
{
    const char* cmdline = pvh_pointer(info->cmdline_paddr);
    return cmdline ? cmdline : "";
}

/* The memory map, or NULL (and *count = 0) before version 1. */
static inline const struct hvm_memmap_table_entry* pvh_memmap(const struct hvm_start_info* info,
                                                              uint32_t* count)
{
    const struct hvm_memmap_table_entry* map = NULL;
    if (info->version >= 1)
        map = pvh_pointer(info->memmap_paddr);
    *count = map ? info->memmap_entries : 0;
    return map;
}

/* Module `index` (0 = initrd), or NULL when there is no such module. */
static inline const struct hvm_modlist_entry* pvh_module(const struct hvm_start_info* info,
                                                         uint32_t index)
{
    const struct hvm_modlist_entry* list = pvh_pointer(info->modlist_paddr);
    if (!list || index >= info->nr_modules)
        return NULL;
    return &list[index];
}

#endif
