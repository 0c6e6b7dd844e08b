/* Executes `int3` with a #BP handler installed and checks the trap semantics the VMM must keep
   when it completes an int3 that the host's KVM cannot emulate (Intel SDM vol 2A, "INT n/INTO/
   INT3": #BP is a trap, the saved EIP is the instruction after the 0xCC; vol 3 §6.11 "IDT
   Descriptors"). Prints the saved EIP's distance from the int3 and exits 0 when it is 1. */
#include "runtime.h"
#include "segments.h"

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attributes; /* 0x8e: present, DPL 0, 32-bit interrupt gate */
    uint16_t offset_high;
} __attribute__((packed));

struct idt_pointer {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

static struct idt_gate idt[4];
volatile uint32_t breakpoint_count;
volatile uint32_t breakpoint_saved_eip;
extern char breakpoint_handler[];
extern char breakpoint_instruction[];

/* The handler records the saved EIP (top of the stack: no error code for #BP), then returns by
   dropping the EIP/CS/EFLAGS frame and jumping to the saved EIP. Not `iret`: the 32-bit iret
   itself cannot be emulated by the software KVM on this project's machines (a second emulation
   failure, unrelated to int3), and interrupts stay disabled in this guest, so EFLAGS needs no
   restoring. Linux's 64-bit iretq is emulated fine there. */
__asm__(".text\n"
        ".globl breakpoint_handler\n"
        "breakpoint_handler:\n"
        "    pushl %eax\n"
        "    movl 4(%esp), %eax\n"
        "    movl %eax, breakpoint_saved_eip\n"
        "    incl breakpoint_count\n"
        "    popl %eax\n"
        "    addl $12, %esp\n"
        "    jmp *breakpoint_saved_eip\n");

int main(const struct hvm_start_info* info)
{
    (void)info;
    const uint32_t handler = (uint32_t)(uintptr_t)breakpoint_handler;
    idt[3] = (struct idt_gate){(uint16_t)handler, GDT_CODE32, 0, 0x8e, (uint16_t)(handler >> 16)};
    static struct idt_pointer pointer;
    pointer.limit = sizeof idt - 1;
    pointer.base = (uint32_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" : : "m"(pointer) : "memory");

    print("breakpoint: executing int3\n");
    __asm__ volatile(".globl breakpoint_instruction\n"
                     "breakpoint_instruction: int3\n" ::: "memory");
    const uint32_t distance = breakpoint_saved_eip - (uint32_t)(uintptr_t)breakpoint_instruction;
    print("breakpoint: handler ran ");
    print_dec(breakpoint_count);
    print(" time(s), saved eip = int3 + ");
    print_dec(distance);
    print("\n");
    return breakpoint_count == 1 && distance == 1 ? 0 : 1;
}
