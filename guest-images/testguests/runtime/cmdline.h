/* `key=value` lookup in the kernel-style command line (whitespace-separated words, as in the
   Linux kernel-parameters convention the VMM follows when it builds the cmdline). */
#ifndef TESTGUEST_CMDLINE_H
#define TESTGUEST_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

/* Finds the next word `key=value` at or after `from`; returns the value's first character and
   its length in *length, or NULL. Call again with value + *length to find repeated keys. */
const char* cmdline_find(const char* from, const char* key, uint32_t* length);

/* Parses exactly `length` decimal digits into *value; false on anything else or overflow. */
bool parse_decimal(const char* text, uint32_t length, uint32_t* value);

#endif
