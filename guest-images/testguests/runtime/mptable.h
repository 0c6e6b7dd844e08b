/* Finding the CPUs in the Intel MultiProcessor Specification tables (MP spec 1.4 §4, "MP
   Configuration Table": §4.1 floating pointer structure, §4.2 configuration table header,
   §4.3.1 processor entries). */
#ifndef TESTGUEST_MPTABLE_H
#define TESTGUEST_MPTABLE_H

#include <stdbool.h>
#include <stdint.h>

#define MP_MAX_CPUS 64

struct mp_cpu {
    uint8_t apic_id;
    bool bootstrap;          /* CPU flags bit 1 (BP): the processor that runs the BIOS/boot */
};

struct mp_info {
    uint32_t cpu_count;      /* enabled processor entries (may exceed MP_MAX_CPUS) */
    struct mp_cpu cpus[MP_MAX_CPUS];  /* the first min(cpu_count, MP_MAX_CPUS), in table order */
    uint32_t lapic_address;  /* from the configuration table header */
};

enum mp_result {
    MP_OK,
    MP_NOT_FOUND,            /* no floating pointer with a valid checksum */
    MP_DEFAULT_CONFIG,       /* feature byte 1 names a default configuration: no table */
    MP_BAD_TABLE,            /* "PCMP" signature, length or checksum wrong */
};

enum mp_result mp_scan(struct mp_info* info);

#endif
