/* The few libc memory/string functions the guests use; GCC may also emit calls to memcpy,
   memset and memcmp on its own, even with -ffreestanding, so they must exist. */
#ifndef TESTGUEST_STRING_H
#define TESTGUEST_STRING_H

#include <stddef.h>

void* memcpy(void* destination, const void* source, size_t length);
void* memmove(void* destination, const void* source, size_t length);
void* memset(void* destination, int value, size_t length);
int memcmp(const void* a, const void* b, size_t length);
size_t strlen(const char* s);

#endif
