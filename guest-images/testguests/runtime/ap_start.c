/* INIT-SIPI-SIPI for the guests that run code on more than one CPU (Intel SDM vol 3 §8.4.4.1,
   "Typical BSP Initialization Sequence"). */
#include "ap_start.h"

#include "lapic.h"
#include "runtime.h"

#define SIPI_VECTOR (AP_TRAMPOLINE_ADDRESS >> 12)
/* Bounded polls instead of the SDM's 10 ms / 200 µs delays: a virtual APIC delivers at once,
   and every guest instruction is emulated on this project's machines (~1-2.5 µs each). */
#define ICR_POLL_LIMIT 1000

extern const char ap_trampoline_start[];
extern const char ap_trampoline_end[];

void ap_start_prepare(void)
{
    lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | LAPIC_SVR_ENABLE | 0xff);
    memcpy((void*)AP_TRAMPOLINE_ADDRESS, ap_trampoline_start, (size_t)(ap_trampoline_end - ap_trampoline_start));
    barrier();
}

static void send_ipi(uint8_t apic_id, uint32_t command)
{
    lapic_write(LAPIC_ICR_HIGH, (uint32_t)apic_id << 24);
    lapic_write(LAPIC_ICR_LOW, command);
    for (unsigned i = 0; i < ICR_POLL_LIMIT && (lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING); i++)
        cpu_relax();
}

void ap_start(uint8_t apic_id)
{
    send_ipi(apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
    send_ipi(apic_id, ICR_DELIVERY_STARTUP | ICR_LEVEL_ASSERT | SIPI_VECTOR);
    send_ipi(apic_id, ICR_DELIVERY_STARTUP | ICR_LEVEL_ASSERT | SIPI_VECTOR);
}
