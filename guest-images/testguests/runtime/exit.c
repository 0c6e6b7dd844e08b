/* exit_vm(): write the status to the exit port, then halt for good in case the VMM keeps the
   vCPU running (QEMU's isa-debug-exit ends with status (v << 1) | 1, minivmm with v). */
#include "exit.h"

#include "io.h"

void exit_vm(uint8_t status)
{
    outb(EXIT_PORT, status);
    halt_forever();
}
