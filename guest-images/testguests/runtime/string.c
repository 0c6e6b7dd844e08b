/* Byte-wise memcpy/memmove/memset/memcmp/strlen for the freestanding guests: tiny sizes only,
   so clarity beats speed. */
#include "string.h"

#include <stdint.h>

void* memcpy(void* destination, const void* source, size_t length)
{
    uint8_t* d = destination;
    const uint8_t* s = source;
    while (length--)
        *d++ = *s++;
    return destination;
}

void* memmove(void* destination, const void* source, size_t length)
{
    uint8_t* d = destination;
    const uint8_t* s = source;
    if (d < s) {
        while (length--)
            *d++ = *s++;
    } else {
        while (length--)
            d[length] = s[length];
    }
    return destination;
}

void* memset(void* destination, int value, size_t length)
{
    uint8_t* d = destination;
    while (length--)
        *d++ = (uint8_t)value;
    return destination;
}

int memcmp(const void* a, const void* b, size_t length)
{
    const uint8_t* x = a;
    const uint8_t* y = b;
    for (size_t i = 0; i < length; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char* s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}
