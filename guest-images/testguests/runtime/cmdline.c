/* Command-line word scanning and decimal parsing for the test guests' `key=value` options. */
#include "cmdline.h"

#include <stddef.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char* cmdline_find(const char* from, const char* key, uint32_t* length)
{
    const char* p = from;
    for (;;) {
        while (is_space(*p))
            p++;
        if (!*p)
            return NULL;
        const char* word = p;
        while (*p && !is_space(*p))
            p++;
        /* Does the word start with "key="? */
        const char* k = key;
        const char* w = word;
        while (*k && w < p && *w == *k) {
            k++;
            w++;
        }
        if (!*k && w < p && *w == '=') {
            *length = (uint32_t)(p - (w + 1));
            return w + 1;
        }
    }
}

bool parse_decimal(const char* text, uint32_t length, uint32_t* value)
{
    if (length == 0)
        return false;
    uint32_t result = 0;
    for (uint32_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        uint32_t digit = (uint32_t)(text[i] - '0');
        if (result > (0xffffffffu - digit) / 10)
            return false;
        result = result * 10 + digit;
    }
    *value = result;
    return true;
}
