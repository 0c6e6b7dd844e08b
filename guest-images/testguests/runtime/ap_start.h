/* Starting an application processor with INIT-SIPI-SIPI into ap_main() (Intel SDM vol 3
   §8.4.4.1, "Typical BSP Initialization Sequence"; §10.6.1, "Interrupt Command Register (ICR)").
   A guest that uses it links smp_trampoline.S and defines `void ap_main(void)`, which each AP
   calls on a stack of its own. */
#ifndef TESTGUEST_AP_START_H
#define TESTGUEST_AP_START_H

#include <stdint.h>

/* The trampoline page: 4 KiB-aligned, below 1 MiB and clear of the VMM's boot structures
   (0x500, 0x6000-0x7fff, 0x9000-0xefff, 0x20000-0x2ffff, 0x9fc00+). */
#define AP_TRAMPOLINE_ADDRESS 0x10000u

/* Software-enables this CPU's local APIC (SVR bit 8; some implementations accept ICR writes
   only then) and copies the trampoline to AP_TRAMPOLINE_ADDRESS. Once, on the BSP. */
void ap_start_prepare(void);
/* INIT, then two STARTUP IPIs (the second covers a lost first one; a running AP ignores it). */
void ap_start(uint8_t apic_id);

/* Called by smp_trampoline.S on each AP. */
void ap_main(void);

#endif
