/* Forces a triple fault: with an empty IDT (limit 0) the #UD from ud2 cannot be delivered, that
   becomes #DF, which cannot be delivered either, so the CPU shuts down (Intel SDM vol 3 §6.15,
   "Interrupt 8—Double Fault Exception (#DF)", and §6.10 on IDT limit checks). The VMM sees a
   shutdown exit; this guest never reaches the exit port. */
#include "runtime.h"

struct idt_pointer {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

int main(const struct hvm_start_info* info)
{
    (void)info;
    static const struct idt_pointer empty_idt = {0, 0};
    print("triple-fault: loading an empty IDT\n");
    /* ud2, not int3: int3 cannot be emulated on this project's machines (MACHINE-NOTES.md). */
    __asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt) : "memory");
    print("triple-fault: still running after ud2\n");  /* a VMM bug if this ever prints */
    halt_forever();
}
