/* x86 port I/O, MMIO and CPU helpers for the freestanding guests (Intel SDM vol 1 §19.4,
   "I/O Address Space"; vol 3 §11.3 on strong-uncacheable MMIO needing volatile accesses). */
#ifndef TESTGUEST_IO_H
#define TESTGUEST_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

/* Paging is off, so a physical address is a pointer. volatile: every access must reach the
   device, in program order. */
static inline uint32_t mmio_read32(uintptr_t address)
{
    return *(volatile uint32_t*)address;
}

static inline void mmio_write32(uintptr_t address, uint32_t value)
{
    *(volatile uint32_t*)address = value;
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* A compiler barrier: the guests are single-address-space and x86 is TSO, so ordering between
   plain stores and device accesses only needs the compiler to keep its hands off. */
static inline void barrier(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noreturn)) static inline void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt" ::: "memory");
}

#endif
