/* The xAPIC local APIC registers the guests use, at the architectural MMIO base 0xFEE00000
   (Intel SDM vol 3 §10.4.1, "The Local APIC Block Diagram", Table 10-1 "Local APIC Register
   Address Map"; §10.6.1, "Interrupt Command Register (ICR)"). */
#ifndef TESTGUEST_LAPIC_H
#define TESTGUEST_LAPIC_H

#include <stdint.h>

#include "io.h"

#define LAPIC_BASE 0xfee00000u

#define LAPIC_ID 0x020        /* bits 31:24: this CPU's APIC id */
#define LAPIC_SVR 0x0f0       /* spurious-interrupt vector; bit 8 = APIC software enable */
#define LAPIC_ICR_LOW 0x300   /* writing it sends the IPI */
#define LAPIC_ICR_HIGH 0x310  /* bits 31:24: destination APIC id */

#define LAPIC_SVR_ENABLE 0x100
#define ICR_DELIVERY_INIT 0x500
#define ICR_DELIVERY_STARTUP 0x600
#define ICR_LEVEL_ASSERT 0x4000
#define ICR_DELIVERY_PENDING 0x1000  /* "send pending" while the APIC has not sent the IPI */

static inline uint32_t lapic_read(uint32_t reg)
{
    return mmio_read32(LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t value)
{
    mmio_write32(LAPIC_BASE + reg, value);
}

static inline uint8_t lapic_id(void)
{
    return (uint8_t)(lapic_read(LAPIC_ID) >> 24);
}

#endif
