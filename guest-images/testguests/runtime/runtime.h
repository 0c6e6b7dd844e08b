/* Everything a test guest needs, in one include: the PVH start info, serial output, the exit
   port, command-line lookup and memory helpers. Each guest defines
   `int main(const struct hvm_start_info*)`; its return value goes to the exit port. */
#ifndef TESTGUEST_RUNTIME_H
#define TESTGUEST_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmdline.h"
#include "exit.h"
#include "io.h"
#include "pvh.h"
#include "serial.h"
#include "string.h"

int main(const struct hvm_start_info* info);

#endif
