/* MP table discovery: scan for the "_MP_" floating pointer, check both checksums, walk the base
   configuration table (Intel MP spec 1.4 §4, "MP Configuration Table"). */
#include "mptable.h"

#include <stddef.h>

/* §4.1 "MP Floating Pointer Structure": 16 bytes on a 16-byte boundary. */
struct mp_floating_pointer {
    uint32_t signature;      /* "_MP_" */
    uint32_t config_paddr;   /* 0 when a default configuration is used */
    uint8_t length;          /* in 16-byte units: 1 */
    uint8_t spec_rev;
    uint8_t checksum;        /* all bytes sum to 0 */
    uint8_t features[5];     /* features[0] != 0: default configuration number */
} __attribute__((packed));

/* §4.2 "MP Configuration Table Header". */
struct mp_config_header {
    uint32_t signature;      /* "PCMP" */
    uint16_t base_length;    /* header + base entries, in bytes */
    uint8_t spec_rev;
    uint8_t checksum;        /* the base_length bytes sum to 0 */
    char oem_id[8];
    char product_id[12];
    uint32_t oem_table_paddr;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t lapic_address;
    uint16_t extended_length;
    uint8_t extended_checksum;
    uint8_t reserved;
} __attribute__((packed));

/* §4.3.1 "Processor Entries": type 0, 20 bytes; every other base entry type is 8 bytes. */
struct mp_processor_entry {
    uint8_t type;
    uint8_t lapic_id;
    uint8_t lapic_version;
    uint8_t cpu_flags;       /* bit 0 EN (usable), bit 1 BP (bootstrap processor) */
    uint32_t cpu_signature;
    uint32_t feature_flags;
    uint32_t reserved[2];
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating_pointer) == 16, "MP spec 1.4 §4.1");
_Static_assert(sizeof(struct mp_config_header) == 44, "MP spec 1.4 §4.2");
_Static_assert(sizeof(struct mp_processor_entry) == 20, "MP spec 1.4 §4.3.1");

#define MP_SIGNATURE 0x5f504d5fu    /* "_MP_" read as a little-endian word */
#define PCMP_SIGNATURE 0x504d4350u  /* "PCMP" */
#define MP_ENTRY_PROCESSOR 0
#define MP_PROCESSOR_SIZE 20
#define MP_OTHER_ENTRY_SIZE 8       /* bus, I/O APIC, I/O and local interrupt assignment */
#define MP_LAST_BASE_ENTRY_TYPE 4
#define MP_CPU_ENABLED 0x01
#define MP_CPU_BOOTSTRAP 0x02

static uint8_t byte_sum(const void* start, uint32_t length)
{
    const uint8_t* p = start;
    uint8_t sum = 0;
    for (uint32_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

static const struct mp_floating_pointer* scan_range(uintptr_t start, uintptr_t end)
{
    for (uintptr_t address = start; address + 16 <= end; address += 16) {
        const struct mp_floating_pointer* fp = (const void*)address;
        if (fp->signature == MP_SIGNATURE && fp->length == 1 && byte_sum(fp, 16) == 0)
            return fp;
    }
    return NULL;
}

enum mp_result mp_scan(struct mp_info* info)
{
    /* §4 lists three places: the first KiB of the EBDA, the last KiB of base memory and the
       BIOS ROM 0xF0000-0xFFFFF. We search the last two (minivmm writes the table at 0x9fc00);
       the short range first, since every probe is an emulated instruction sequence here. */
    const struct mp_floating_pointer* fp = scan_range(0x9fc00, 0xa0000);
    if (!fp)
        fp = scan_range(0xf0000, 0x100000);
    if (!fp)
        return MP_NOT_FOUND;
    if (fp->features[0] != 0 || fp->config_paddr == 0)
        return MP_DEFAULT_CONFIG;

    const struct mp_config_header* header = (const void*)(uintptr_t)fp->config_paddr;
    if (header->signature != PCMP_SIGNATURE || header->base_length < sizeof *header ||
        byte_sum(header, header->base_length) != 0)
        return MP_BAD_TABLE;

    info->cpu_count = 0;
    info->lapic_address = header->lapic_address;
    /* Walk the entries up to base_length rather than trusting entry_count: QEMU's qboot
       firmware leaves entry_count at 0 (Linux's MP parser also walks by length). */
    const uint8_t* entry = (const uint8_t*)(header + 1);
    const uint8_t* end = (const uint8_t*)header + header->base_length;
    while (entry < end) {
        uint32_t size = entry[0] == MP_ENTRY_PROCESSOR ? MP_PROCESSOR_SIZE : MP_OTHER_ENTRY_SIZE;
        if (entry[0] > MP_LAST_BASE_ENTRY_TYPE || entry + size > end)
            return MP_BAD_TABLE;
        if (entry[0] == MP_ENTRY_PROCESSOR) {
            const struct mp_processor_entry* cpu = (const void*)entry;
            if (cpu->cpu_flags & MP_CPU_ENABLED) {
                if (info->cpu_count < MP_MAX_CPUS) {
                    info->cpus[info->cpu_count].apic_id = cpu->lapic_id;
                    info->cpus[info->cpu_count].bootstrap = (cpu->cpu_flags & MP_CPU_BOOTSTRAP) != 0;
                }
                info->cpu_count++;
            }
        }
        entry += size;
    }
    return MP_OK;
}
