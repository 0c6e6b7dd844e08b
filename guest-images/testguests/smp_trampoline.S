/* Application-processor start: the real-mode trampoline a startup IPI points at, and the 32-bit
   code that gives each AP a stack and calls ap_main() (Intel SDM vol 3 §8.4.4, "MP
   Initialization Example"; §9.9.1, "Switching to Protected Mode"). */

#include "segments.h"

#define AP_STACK_SIZE 2048
#define AP_MAX 63                   /* MP_MAX_CPUS - 1 */

/* The trampoline is copied to a 4 KiB-aligned page below 1 MiB; a SIPI with vector V starts the
   AP in real mode at CS = V << 8, IP = 0. So everything here addresses its own bytes relative
   to ap_trampoline_start (through DS = CS), and reaches the main image only by absolute
   addresses, which stay valid after the copy. */
    .text
    .code16
    .globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    /* lgdtl: the 32-bit operand form loads all 32 bits of the GDT base (the GDT is above 1 MiB). */
    lgdtl ap_gdt_descriptor - ap_trampoline_start
    mov %cr0, %eax
    or $1, %eax                     /* CR0.PE */
    mov %eax, %cr0
    /* A far jump right after setting PE, as §9.9.1 asks, loads CS from our GDT. */
    ljmpl $GDT_CODE32, $ap_entry32
    .p2align 2
    .word 0
ap_gdt_descriptor:                  /* a copy of gdt_descriptor (start.S): limit, 32-bit base */
    .word 3 * 8 - 1
    .long gdt
ap_trampoline_end:

    .code32
ap_entry32:
    mov $GDT_DATA32, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    /* APs run concurrently: claim a stack slot atomically (lock xadd returns the old count). */
    mov $1, %ecx
    lock xadd %ecx, ap_stacks_claimed
    cmp $AP_MAX, %ecx
    jae 2f                          /* more APs than stacks: park this one */
    lea 1(%ecx), %eax
    imul $AP_STACK_SIZE, %eax
    lea ap_stacks(%eax), %esp
    call ap_main
2:  cli
    hlt
    jmp 2b

    .section .bss
    .p2align 2
ap_stacks_claimed:
    .long 0

    .section .noinit, "aw", @nobits
    .p2align 4
ap_stacks:
    .skip AP_STACK_SIZE * AP_MAX

    .section .note.GNU-stack, "", @progbits
