/* Polled output on the COM1 16550 UART and small print helpers (no printf: every byte is a
   trapped port write, so output stays short and explicit). */
#ifndef TESTGUEST_SERIAL_H
#define TESTGUEST_SERIAL_H

#include <stdint.h>

void serial_putc(char c);
void print(const char* s);
void print_n(const char* s, uint32_t length);   /* exactly `length` bytes */
void print_dec(uint32_t value);
void print_dec64(uint64_t value);
void print_hex8(uint8_t value);                  /* 2 lowercase digits */
void print_hex32(uint32_t value);                /* 8 lowercase digits, no prefix */
void print_hex64(uint64_t value);                /* 16 lowercase digits, no prefix */

#endif
