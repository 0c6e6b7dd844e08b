// exit-port: reports a status to the VMM by writing one byte to the exit port (I/O port 0xf4;
// minivmm ends with that status, QEMU's isa-debug-exit with (status << 1) | 1).
// Usage: exit-port STATUS   (0..255). Exits 1 if the port cannot be reached, 0 if the VMM
// ignored the write (the caller then shuts the guest down another way).
//
// Built without libc (gcc -static -Os -nostdlib): a glibc static binary would add ~800 KiB to
// the initramfs, and unpacking costs ~24 s per MiB on software-emulated KVM hosts.
// The program is ioperm(0xf4, 1, 1); outb(status, 0xf4) with raw x86-64 Linux syscalls.

enum { SYS_write = 1, SYS_exit = 60, SYS_ioperm = 173 };  // x86-64 syscall numbers
#define EXIT_PORT 0xf4

static long syscall3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static void out8(unsigned char value, unsigned short port)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static void say(const char* s)
{
    long n = 0;
    while (s[n] != '\0')
        ++n;
    syscall3(SYS_write, 2, (long)s, n);
}

static __attribute__((noreturn)) void quit(int status)
{
    for (;;)
        syscall3(SYS_exit, status, 0, 0);
}

// Parses a decimal 0..255; returns -1 for anything else.
static int parse_status(const char* s)
{
    int v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; ++s) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > 255)
            return -1;
    }
    return v;
}

__attribute__((noreturn, used)) void exit_port_main(long* sp)
{
    long argc = sp[0];
    char** argv = (char**)(sp + 1);
    int status = argc == 2 ? parse_status(argv[1]) : -1;
    if (status < 0) {
        say("usage: exit-port STATUS (0..255)\n");
        quit(2);
    }
    if (syscall3(SYS_ioperm, EXIT_PORT, 1, 1) != 0) {
        say("exit-port: ioperm(0xf4) failed\n");
        quit(1);
    }
    out8((unsigned char)status, EXIT_PORT);
    quit(0);  // still running: the VMM has no exit port
}

// Process entry: the kernel leaves argc at (%rsp); align the stack and call into C.
__asm__(".globl _start\n"
        "_start:\n"
        "    xor %rbp, %rbp\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call exit_port_main\n"
        "    hlt\n");
