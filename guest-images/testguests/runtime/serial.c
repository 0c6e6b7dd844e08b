/* Polled 16550 UART transmit at COM1 (0x3f8) plus number formatting without 64-bit division
   (National Semiconductor PC16550D datasheet, "Line Status Register", bit 5 THRE). */
#include "serial.h"

#include "io.h"

#define COM1 0x3f8
#define UART_THR 0          /* transmitter holding register (write) */
#define UART_LSR 5          /* line status register */
#define UART_LSR_THRE 0x20  /* THR empty: the UART accepts another byte */

/* A VMM's UART is usually always ready; the bound keeps a missing or stuck UART from hanging
   the guest (an absent port reads 0xff, which has THRE set anyway). */
#define THRE_POLL_LIMIT 10000

void serial_putc(char c)
{
    for (unsigned i = 0; i < THRE_POLL_LIMIT && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
        cpu_relax();
    outb(COM1 + UART_THR, (uint8_t)c);
}

void print(const char* s)
{
    while (*s)
        serial_putc(*s++);
}

void print_n(const char* s, uint32_t length)
{
    for (uint32_t i = 0; i < length; i++)
        serial_putc(s[i]);
}

void print_dec(uint32_t value)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n)
        serial_putc(digits[--n]);
}

/* Divides a 64-bit value by 10 with two 32-bit `divl`s (high half first, its remainder carried
   into the low half), so no libgcc __udivdi3 is needed. */
static uint32_t divide64_by_10(uint64_t* value)
{
    uint32_t high = (uint32_t)(*value >> 32);
    uint32_t low = (uint32_t)*value;
    uint32_t high_quotient = high / 10;
    uint32_t remainder = high % 10;
    uint32_t low_quotient;
    /* EDX:EAX = remainder:low; remainder < 10 so the quotient fits in 32 bits (no #DE). */
    __asm__("divl %[divisor]"
            : "=a"(low_quotient), "=d"(remainder)
            : "a"(low), "d"(remainder), [divisor] "r"(10u));
    *value = ((uint64_t)high_quotient << 32) | low_quotient;
    return remainder;
}

void print_dec64(uint64_t value)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + divide64_by_10(&value));
    } while (value);
    while (n)
        serial_putc(digits[--n]);
}

void print_hex8(uint8_t value)
{
    static const char hex[] = "0123456789abcdef";
    serial_putc(hex[value >> 4]);
    serial_putc(hex[value & 0xf]);
}

void print_hex32(uint32_t value)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        print_hex8((uint8_t)(value >> shift));
}

void print_hex64(uint64_t value)
{
    print_hex32((uint32_t)(value >> 32));
    print_hex32((uint32_t)value);
}
