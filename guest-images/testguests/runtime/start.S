/* PVH entry of every test guest: the Xen ELF note naming the 32-bit entry point, our own GDT and
   stack, then main(start_info) and exit_vm(its result). Xen PVH boot ABI (docs/misc/pvh.pandoc,
   "x86/HVM direct boot ABI"; xen/include/public/elfnote.h, XEN_ELFNOTE_PHYS32_ENTRY). */

#include "segments.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* ELF note: namesz, descsz, type, name "Xen\0", desc = 32-bit physical entry address. */
    .section .note.Xen, "a", @note
    .p2align 2
    .long 2f - 1f
    .long 4f - 3f
    .long XEN_ELFNOTE_PHYS32_ENTRY
1:  .asciz "Xen"
2:  .p2align 2
3:  .long _start
4:  .p2align 2

/* Entry state per the ABI: 32-bit protected mode, paging off, EBX = &hvm_start_info, interrupts
   off. CS/DS/ES are flat but their selectors, SS and the GDTR are unspecified, so nothing may
   touch the stack or reload a segment until our own GDT is in place. */
    .section .text.start, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    lgdt gdt_descriptor
    ljmp $GDT_CODE32, $1f
1:  mov $GDT_DATA32, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $boot_stack_top, %esp

    /* Zero .bss (EBX survives: rep stos uses EAX, ECX, EDI only). */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    shr $2, %ecx
    xor %eax, %eax
    rep stosl

    push %ebx
    call main
    push %eax
    call exit_vm            /* never returns */

/* Flat 4 GiB segments; also used by the SMP guest's application processors. */
    .section .data
    .p2align 3
    .globl gdt, gdt_descriptor
gdt:
    .quad 0                         /* null descriptor */
    .quad 0x00cf9a000000ffff        /* GDT_CODE32: base 0, limit 4 GiB, 32-bit, execute/read */
    .quad 0x00cf92000000ffff        /* GDT_DATA32: base 0, limit 4 GiB, read/write */
gdt_end:
    .p2align 2
    .word 0                         /* pad so the 32-bit base below is 4-byte aligned */
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt

    .section .noinit, "aw", @nobits
    .p2align 4
boot_stack:
    .skip 8192
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
