/* Ending the guest through the exit port: a one-byte write of the status to I/O port 0xf4, the
   convention shared by minivmm's exit port and QEMU's isa-debug-exit device. */
#ifndef TESTGUEST_EXIT_H
#define TESTGUEST_EXIT_H

#include <stdint.h>

#define EXIT_PORT 0xf4

__attribute__((noreturn)) void exit_vm(uint8_t status);

#endif
