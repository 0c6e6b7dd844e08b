// The per-thread-kind allow-lists (allow_lists.hpp). One line per entry, saying who needs it.
// Keep them short: every entry is attack surface a compromised device emulation could use.
#include "vmm/sandbox/allow_lists.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sys/syscall.h>

#include "vmm/kvm/flex_array_abi.hpp"

#include <array>
#include <cerrno>
#include <span>

namespace minivmm::sandbox {

namespace {
#define MINIVMM_SYSCALL(name, why) AllowedSyscall {__NR_##name, #name, why}
#define MINIVMM_IOCTL(request, why) AllowedIoctl {request, #request, why}

// What every thread may do, whatever its job.
constexpr std::array kCommonSyscalls {
    MINIVMM_SYSCALL(write, "stderr lines, console output, eventfd signals (irqfd, queue wake-ups), the SIGSYS line"),
    MINIVMM_SYSCALL(futex, "mutexes and condition variables (VmStopper, device state), thread joins"),
    MINIVMM_SYSCALL(poll, "console output waits until stdout is writable or a stop (console_output.cpp)"),
    MINIVMM_SYSCALL(mmap, "malloc: new arenas and large blocks"),
    MINIVMM_SYSCALL(munmap, "free of large blocks, teardown of mappings"),
    MINIVMM_SYSCALL(mprotect, "malloc: growing a thread's arena"),
    MINIVMM_SYSCALL(madvise, "free: trimming arenas; thread exit releasing its stack"),
    MINIVMM_SYSCALL(brk, "malloc on the main arena"),
    MINIVMM_SYSCALL(clock_gettime, "thread CPU-time clocks (not in the vDSO): limiter, --metrics"),
    MINIVMM_SYSCALL(rt_sigprocmask, "pthread_sigmask around the kick signal; abort()"),
    MINIVMM_SYSCALL(rt_sigreturn, "return from the vCPU kick / throttle signal handlers"),
    MINIVMM_SYSCALL(getpid, "abort() on a failed assertion (raise); the snapshot's temporary file names"),
    MINIVMM_SYSCALL(gettid, "abort() on a failed assertion (raise)"),
    MINIVMM_SYSCALL(tgkill, "abort() on a failed assertion; kicking a vCPU thread (pthread_kill)"),
    MINIVMM_SYSCALL(exit_group, "process exit, also from the SIGSYS handler"),
    MINIVMM_SYSCALL(sched_yield, "std::stop_token's spin lock (libstdc++) while another thread requests a stop"),
};

constexpr std::array kVcpuSyscalls {
    MINIVMM_SYSCALL(exit, "the vCPU thread ends"),
    MINIVMM_SYSCALL(timer_create, "CPU limiter: the per-thread CPU-time budget timer (thread_cpu_timer.cpp)"),
    MINIVMM_SYSCALL(timer_settime, "CPU limiter: arming the budget timer"),
    MINIVMM_SYSCALL(timer_delete, "CPU limiter: the budget timer at thread end"),
    MINIVMM_SYSCALL(clock_nanosleep, "CPU limiter: sleeping to the end of the period"),
    MINIVMM_SYSCALL(io_uring_enter, "virtio-blk reset from a guest MMIO write drains the io_uring"),
    MINIVMM_SYSCALL(read, "the same drain consumes the io_uring completion eventfd (uring_io_engine.cpp)"),
};

constexpr std::array kEventLoopSyscalls {
    MINIVMM_SYSCALL(epoll_wait, "the event loop"),
    MINIVMM_SYSCALL(epoll_ctl, "devices (un)watching fds: virtio-net rx, rate-limit timers, teardown"),
    MINIVMM_SYSCALL(read, "eventfds, timerfds, the signalfd, stdin, taps (virtio-net rx)"),
    MINIVMM_SYSCALL(writev, "taps (virtio-net tx)"),
    MINIVMM_SYSCALL(preadv, "the sync disk engine"),
    MINIVMM_SYSCALL(pwritev, "the sync disk engine"),
    MINIVMM_SYSCALL(fdatasync, "virtio-blk flush (sync engine)"),
    MINIVMM_SYSCALL(fallocate, "virtio-blk discard / write-zeroes"),
    MINIVMM_SYSCALL(io_uring_enter, "the io_uring disk engine"),
    MINIVMM_SYSCALL(timerfd_settime, "rate-limit gates arming their wake-up timer"),
    MINIVMM_SYSCALL(close, "teardown: every fd"),
    MINIVMM_SYSCALL(mincore, "--limits-report / --metrics: resident guest RAM"),
    MINIVMM_SYSCALL(ftruncate, "control API online resize: DiskImage::grow"),
    MINIVMM_SYSCALL(fsync, "control API online resize: the new size made durable"),
    MINIVMM_SYSCALL(shutdown, "control API: MHD_stop_daemon at exit closes the API's connections"),
    MINIVMM_SYSCALL(newfstatat, "control API: at exit, the socket file is checked to be still ours (lstat)"),
    MINIVMM_SYSCALL(unlink, "control API: at exit, the socket file is removed"),
    MINIVMM_SYSCALL(clock_nanosleep, "control API: at exit, up to 1 s for the last answer to leave (ApiServer)"),
    MINIVMM_SYSCALL(sched_getaffinity, "control API: PATCH /v1/limits reruns the CPU formula (seen in enforce runs)"),
};

// The control API's thread: HTTP on the Unix socket (libmicrohttpd driven by ApiServer's own
// loop), then a hand-over to the event loop through VmController. It opens nothing, never
// touches KVM, guest memory or disks.
constexpr std::array kApiSyscalls {
    MINIVMM_SYSCALL(exit, "the API thread ends"),
    MINIVMM_SYSCALL(epoll_wait, "libmicrohttpd's epoll set (MHD_USE_EPOLL)"),
    MINIVMM_SYSCALL(epoll_ctl, "libmicrohttpd adds and removes connections"),
    MINIVMM_SYSCALL(poll, "ApiServer's loop waits for MHD's epoll fd and its stop eventfd"),
    MINIVMM_SYSCALL(accept4, "libmicrohttpd accepts a connection"),
    MINIVMM_SYSCALL(recvfrom, "libmicrohttpd reads a request"),
    MINIVMM_SYSCALL(sendto, "libmicrohttpd writes the rest of an answer a single send() (mhd_send.c)"),
    MINIVMM_SYSCALL(sendmsg, "libmicrohttpd writes an answer (header and body together)"),
    MINIVMM_SYSCALL(shutdown, "libmicrohttpd ends a connection"),
    MINIVMM_SYSCALL(close, "libmicrohttpd closes a connection"),
};

// The VM's backup thread (vmm/backup/backup_worker.hpp, with --api-socket only): at a backup's
// start it opens the disk again and creates DEST's temporary file (openat: only with the flag
// sets in kBackupOpens) and scans the disk's holes; then it copies, makes DEST durable and gives
// it its name, or removes it. Its buffers are allocated before it runs; the bandwidth limit
// waits on a condition variable (futex).
constexpr std::array kBackupSyscalls {
    MINIVMM_SYSCALL(exit, "the backup thread ends (VM teardown)"),
    MINIVMM_SYSCALL(preadv, "reading the disk (pread_exact, base/exact_io.hpp)"),
    MINIVMM_SYSCALL(pwritev, "writing DEST's temporary file (pwrite_exact)"),
    MINIVMM_SYSCALL(lseek, "at start: SEEK_DATA / SEEK_HOLE, so holes stay holes"),
    MINIVMM_SYSCALL(newfstatat, "at start: lstat refuses an existing DEST; fstat of the disk for its mode"),
    MINIVMM_SYSCALL(getrandom, "at start: mkostemp's random name for the temporary file"),
    MINIVMM_SYSCALL(fchmod, "at start: the temporary file gets the disk's permission bits"),
    MINIVMM_SYSCALL(ftruncate, "at start: the temporary file gets the disk's size, all hole"),
    MINIVMM_SYSCALL(fdatasync, "DEST's data made durable before it gets its name"),
    MINIVMM_SYSCALL(renameat2, "the temporary file becomes DEST (RENAME_NOREPLACE)"),
    MINIVMM_SYSCALL(linkat, "DEST's file system lacks RENAME_NOREPLACE: link(2) names it, also never replacing"),
    MINIVMM_SYSCALL(unlinkat, "removing the temporary file (a failed or cancelled backup; the name after linkat)"),
    MINIVMM_SYSCALL(fsync, "DEST's directory made durable after the rename"),
    MINIVMM_SYSCALL(close, "at start: a refused DEST closes what was opened before the refusal"),
};

// The gdb stub's thread (vmm/gdb/gdb_server.hpp, with --gdb only): one TCP or Unix connection
// at a time on a socket made before the sandbox; while every vCPU is parked it reads and writes
// their registers and sets their debug state itself, and reads and writes guest memory through
// its mapping.
constexpr std::array kGdbSyscalls {
    MINIVMM_SYSCALL(exit, "the gdb thread ends"),
    MINIVMM_SYSCALL(poll, "waiting for gdb, a guest stop (eventfd) or the VM's end"),
    MINIVMM_SYSCALL(accept4, "a gdb connects"),
    MINIVMM_SYSCALL(recvfrom, "packets from gdb (recv)"),
    MINIVMM_SYSCALL(sendto, "replies to gdb (send)"),
    MINIVMM_SYSCALL(read, "consuming the stop eventfd"),
    MINIVMM_SYSCALL(close, "a gdb connection ends"),
};

// The VM's snapshot thread (vmm/vm/vm_snapshot.cpp, with --api-socket only), while every vCPU
// is parked at the pause barrier: it reads each vCPU's and the VM's in-kernel state, creates
// DIR, writes DIR/memory (sparse) and then DIR/vmstate atomically. It runs no device code.
constexpr std::array kSnapshotSyscalls {
    MINIVMM_SYSCALL(exit, "the snapshot thread ends (VM teardown)"),
    MINIVMM_SYSCALL(mkdir, "creating DIR"),
    MINIVMM_SYSCALL(newfstatat, "DIR: is it a directory, does it hold a snapshot already"),
    MINIVMM_SYSCALL(pwritev, "DIR/memory's data pages and DIR/vmstate (pwrite_exact)"),
    MINIVMM_SYSCALL(ftruncate, "DIR/memory's length, so all-zero pages stay holes"),
    MINIVMM_SYSCALL(fdatasync, "DIR/memory made durable before DIR/vmstate names it valid"),
    MINIVMM_SYSCALL(fsync, "DIR/vmstate and DIR made durable"),
    MINIVMM_SYSCALL(renameat2, "the temporary file becomes DIR/memory (RENAME_NOREPLACE)"),
    MINIVMM_SYSCALL(renameat, "DIR/vmstate's temporary file becomes DIR/vmstate; DIR/memory without RENAME_NOREPLACE"),
    MINIVMM_SYSCALL(unlinkat, "a failed snapshot removes its own files"),
    MINIVMM_SYSCALL(rmdir, "a failed snapshot removes the DIR it created"),
    MINIVMM_SYSCALL(close, "DIR and its files"),
};

// openat(2) for the backup thread, with exactly these flags (argument 2): it can read a file,
// open a directory, and create a new file, but never truncate, append to or write into an
// existing one (O_CREAT always comes with O_EXCL).
constexpr std::array kBackupOpens {
    AllowedOpen {O_RDONLY | O_CLOEXEC, "O_RDONLY|O_CLOEXEC",
        "the disk again through /proc/self/fd: a description of its own, without O_DIRECT"},
    AllowedOpen {O_RDONLY | O_DIRECTORY | O_CLOEXEC, "O_RDONLY|O_DIRECTORY|O_CLOEXEC",
        "DEST's directory: renameat2 / linkat / unlinkat relative to it, fsync of it"},
    AllowedOpen {O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, "O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC",
        "mkostemp: DEST's temporary file, always a new one"},
};

// openat(2) for the snapshot thread, with exactly these flags: DIR itself, and new files in it.
constexpr std::array kSnapshotOpens {
    AllowedOpen {O_RDONLY | O_CLOEXEC, "O_RDONLY|O_CLOEXEC",
        "malloc's one-time probe of /proc/sys/vm/overcommit_memory (glibc arena.c); a kind with flag sets "
        "cannot refuse the others with EACCES (refused_syscalls)"},
    AllowedOpen {O_RDONLY | O_DIRECTORY | O_CLOEXEC, "O_RDONLY|O_DIRECTORY|O_CLOEXEC",
        "DIR: files made relative to it, fsync of it"},
    AllowedOpen {O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, "O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC",
        "DIR/memory's temporary file (always a new one)"},
    AllowedOpen {O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, "O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC",
        "DIR/vmstate's temporary file (always a new one)"},
};

// Refused, not fatal: glibc's malloc opens /proc/sys/vm/overcommit_memory the first time a
// thread's own arena shrinks (arena.c, check_may_shrink_heap), on any thread and at any time;
// on failure it takes the answer "not strict overcommit" and shrinks with MADV_DONTNEED.
#define MINIVMM_REFUSED(name, error, why) RefusedSyscall {__NR_##name, #name, error, why}
constexpr std::array kRefusedSyscalls {
    MINIVMM_REFUSED(openat, EACCES, "malloc's one-time probe of /proc/sys/vm/overcommit_memory (glibc arena.c)"),
    MINIVMM_REFUSED(open, EACCES, "the same probe through the old call"),
};
#undef MINIVMM_REFUSED

// ioctls every thread may make: restoring the terminal from the SIGSYS handler.
constexpr std::array kCommonIoctls {
    MINIVMM_IOCTL(TCSETS, "tcsetattr(TCSANOW): RawTerminal::restore_saved, also from the SIGSYS handler"),
};

constexpr std::array kVcpuIoctls {
    MINIVMM_IOCTL(KVM_RUN, "the exit loop"),
    MINIVMM_IOCTL(KVM_GET_REGS, "instruction completion, crash register dump"),
    MINIVMM_IOCTL(KVM_SET_REGS, "instruction completion (int3, fwait, ldmxcsr/stmxcsr)"),
    MINIVMM_IOCTL(KVM_GET_SREGS, "instruction completion, crash register dump"),
    MINIVMM_IOCTL(KVM_GET_FPU, "instruction completion (fwait, MXCSR)"),
    MINIVMM_IOCTL(KVM_SET_FPU, "instruction completion (ldmxcsr)"),
    MINIVMM_IOCTL(KVM_GET_VCPU_EVENTS, "instruction completion: injecting #BP / #NM / #MF"),
    MINIVMM_IOCTL(KVM_SET_VCPU_EVENTS, "instruction completion: injecting #BP / #NM / #MF"),
    MINIVMM_IOCTL(KVM_TRANSLATE, "instruction completion and the crash dump's code bytes"),
    MINIVMM_IOCTL(KVM_IRQ_LINE, "the 16550 UART raising IRQ 4 from a register write"),
    MINIVMM_IOCTL(TUNSETOFFLOAD, "virtio-net: the guest's feature negotiation (an MMIO write) sets tap offloads"),
};

constexpr std::array kEventLoopIoctls {
    MINIVMM_IOCTL(KVM_IRQ_LINE, "the 16550 UART raising IRQ 4 on console input"),
    MINIVMM_IOCTL(KVM_GET_REGS, "--timeout: where each vCPU was"),
    MINIVMM_IOCTL(KVM_GET_SREGS, "--timeout: where each vCPU was"),
    MINIVMM_IOCTL(KVM_TRANSLATE, "--timeout: code bytes at RIP"),
    MINIVMM_IOCTL(TUNSETOFFLOAD, "virtio-net: offloads set when the device activates"),
    MINIVMM_IOCTL(TCGETS, "RawTerminal: tcgetattr at teardown; isatty() by stdio"),
};

constexpr std::array kSnapshotIoctls {
    MINIVMM_IOCTL(KVM_GET_REGS, "snapshot: a parked vCPU's registers"),
    MINIVMM_IOCTL(KVM_GET_SREGS, "snapshot: segment and control registers"),
    MINIVMM_IOCTL(KVM_GET_FPU, "snapshot: x87/SSE state"),
    MINIVMM_IOCTL(KVM_GET_XSAVE, "snapshot: the XSAVE area (refused on kvm_pvm)"),
    MINIVMM_IOCTL(KVM_GET_XSAVE2, "snapshot: the XSAVE area beyond 4 KiB (AMX hosts)"),
    MINIVMM_IOCTL(KVM_GET_XCRS, "snapshot: XCR0"),
    MINIVMM_IOCTL(KVM_GET_LAPIC, "snapshot: the in-kernel local APIC"),
    // The variable-length ones by the numbers minivmm really uses (flex_array_abi.hpp: g++
    // computes <linux/kvm.h>'s own numbers from a wrong size).
    AllowedIoctl {kvm::kIoctlGetMsrs, "KVM_GET_MSRS", "snapshot: the MSRs of KVM_GET_MSR_INDEX_LIST, TSC included"},
    MINIVMM_IOCTL(KVM_GET_VCPU_EVENTS, "snapshot: pending exceptions, interrupts, NMIs"),
    MINIVMM_IOCTL(KVM_GET_MP_STATE, "snapshot: running, halted or waiting for INIT/SIPI"),
    MINIVMM_IOCTL(KVM_GET_DEBUGREGS, "snapshot: DR0-DR3, DR6, DR7"),
    AllowedIoctl {kvm::kIoctlGetCpuid2, "KVM_GET_CPUID2", "snapshot: the vCPU's CPUID table"},
    MINIVMM_IOCTL(KVM_GET_IRQCHIP, "snapshot: the in-kernel PICs and IOAPIC"),
    MINIVMM_IOCTL(KVM_GET_PIT2, "snapshot: the in-kernel PIT"),
    MINIVMM_IOCTL(KVM_GET_CLOCK, "snapshot: kvmclock"),
};

constexpr std::array kGdbIoctls {
    MINIVMM_IOCTL(KVM_GET_REGS, "gdb `g`/`p` on a parked vCPU"),
    MINIVMM_IOCTL(KVM_SET_REGS, "gdb `G`/`P` on a parked vCPU"),
    MINIVMM_IOCTL(KVM_GET_SREGS, "gdb: segment and control registers, the CPU mode"),
    // Only with --gdb, whose user already owns the guest (memory, RIP): KVM checks the values.
    MINIVMM_IOCTL(KVM_SET_SREGS, "gdb `G`/`P` of segment and control registers on a parked vCPU"),
    MINIVMM_IOCTL(KVM_GET_FPU, "gdb: x87 and SSE registers"),
    MINIVMM_IOCTL(KVM_SET_FPU, "gdb `G`/`P` of x87 and SSE registers on a parked vCPU"),
    MINIVMM_IOCTL(KVM_TRANSLATE, "gdb memory access through the guest's page tables"),
    MINIVMM_IOCTL(KVM_SET_GUEST_DEBUG, "gdb: breakpoints, single-step and debug registers before a resume"),
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// ASan/LSan runtime (sanitizer builds only): LeakSanitizer's check at exit stops the world with
// a tracer task (clone, prctl PR_SET_PTRACER, ptrace, wait4) that lists /proc/self/task and
// reads /proc/self/maps; reports are symbolized and written by the runtime itself. The TSan
// runtime (the threaded-parts suite) makes the same kind of calls from its interceptors (fstat
// on the backup thread, seen), so it gets the same list.
constexpr std::array kSanitizerSyscalls {
    MINIVMM_SYSCALL(clone, "LSan StopTheWorld: the tracer task"),
    MINIVMM_SYSCALL(ptrace, "LSan StopTheWorld: attaching to every thread"),
    MINIVMM_SYSCALL(wait4, "LSan StopTheWorld: waiting for the tracer and the stopped threads"),
    MINIVMM_SYSCALL(prctl, "LSan StopTheWorld: PR_SET_PTRACER, PR_SET_PDEATHSIG, PR_GET_DUMPABLE"),
    MINIVMM_SYSCALL(sigaltstack, "sanitizer runtime: the alternate signal stack"),
    MINIVMM_SYSCALL(rt_sigaction, "sanitizer runtime: its own signal handlers"),
    MINIVMM_SYSCALL(sched_yield, "LSan StopTheWorld: waiting for the tracer"),
    MINIVMM_SYSCALL(openat, "LSan: /proc/self/task, /proc/self/maps"),
    MINIVMM_SYSCALL(open, "LSan: /proc/self/task, /proc/self/maps"),
    MINIVMM_SYSCALL(getdents, "LSan: listing /proc/self/task (the runtime uses the old call)"),
    MINIVMM_SYSCALL(getdents64, "LSan: listing /proc/self/task"),
    MINIVMM_SYSCALL(read, "LSan: /proc/self/maps"),
    MINIVMM_SYSCALL(close, "LSan: /proc files"),
    MINIVMM_SYSCALL(exit, "LSan StopTheWorld: the tracer task ends"),
    MINIVMM_SYSCALL(kill, "LSan StopTheWorld: ending the tracer"),
    MINIVMM_SYSCALL(getppid, "LSan StopTheWorld: the tracer checks its parent"),
    MINIVMM_SYSCALL(readlink, "sanitizer runtime: /proc/self/exe for reports"),
    MINIVMM_SYSCALL(newfstatat, "sanitizer runtime: mapping files"),
    MINIVMM_SYSCALL(fstat, "sanitizer runtime: mapping files"),
    MINIVMM_SYSCALL(lseek, "sanitizer runtime: reading files"),
    MINIVMM_SYSCALL(pipe2, "ASan: IsAccessibleMemoryRange probes memory through a pipe (unwinding, thread exit)"),
};
constexpr bool kSanitizerBuild = true;
#else
constexpr std::array<AllowedSyscall, 0> kSanitizerSyscalls {};
constexpr bool kSanitizerBuild = false;
#endif

#undef MINIVMM_SYSCALL
#undef MINIVMM_IOCTL

template<class T>
void append_missing(std::vector<T>& to, std::span<const T> from)
{
    for (const T& entry : from) {
        bool present = false;
        for (const T& existing : to)
            present = present || existing.name == entry.name;
        if (!present)
            to.push_back(entry);
    }
}
} // namespace

std::vector<AllowedSyscall> allowed_syscalls(ThreadKind kind)
{
    std::vector<AllowedSyscall> list;
    switch (kind) {
    case ThreadKind::Vcpu:
        append_missing<AllowedSyscall>(list, kVcpuSyscalls);
        break;
    case ThreadKind::EventLoop:
        append_missing<AllowedSyscall>(list, kEventLoopSyscalls);
        break;
    case ThreadKind::Api:
        append_missing<AllowedSyscall>(list, kApiSyscalls);
        break;
    case ThreadKind::Backup:
        append_missing<AllowedSyscall>(list, kBackupSyscalls);
        break;
    case ThreadKind::Gdb:
        append_missing<AllowedSyscall>(list, kGdbSyscalls);
        break;
    case ThreadKind::Snapshot:
        append_missing<AllowedSyscall>(list, kSnapshotSyscalls);
        break;
    }
    append_missing<AllowedSyscall>(list, kCommonSyscalls);
    append_missing<AllowedSyscall>(list, kSanitizerSyscalls);
    return list;
}

std::vector<AllowedIoctl> allowed_ioctls(ThreadKind kind)
{
    std::vector<AllowedIoctl> list;
    switch (kind) {
    case ThreadKind::Vcpu:
        append_missing<AllowedIoctl>(list, kVcpuIoctls);
        break;
    case ThreadKind::EventLoop:
        append_missing<AllowedIoctl>(list, kEventLoopIoctls);
        break;
    case ThreadKind::Gdb:
        append_missing<AllowedIoctl>(list, kGdbIoctls);
        break;
    case ThreadKind::Snapshot:
        append_missing<AllowedIoctl>(list, kSnapshotIoctls);
        break;
    case ThreadKind::Api:
    case ThreadKind::Backup:
        break; // no ioctl but the common terminal restore
    }
    append_missing<AllowedIoctl>(list, kCommonIoctls);
    return list;
}

std::vector<AllowedOpen> allowed_opens(ThreadKind kind)
{
    if (kind == ThreadKind::Backup)
        return {kBackupOpens.begin(), kBackupOpens.end()};
    if (kind == ThreadKind::Snapshot)
        return {kSnapshotOpens.begin(), kSnapshotOpens.end()};
    return {};
}

std::vector<RefusedSyscall> refused_syscalls(ThreadKind kind)
{
    const std::vector<AllowedSyscall> allowed = allowed_syscalls(kind);
    // A kind with openat flag sets gets no blanket refusal of openat: libseccomp lets an
    // unconditional rule win over the flag rules. Other flags are a violation there (malloc's
    // probe, O_RDONLY|O_CLOEXEC, is among the allowed sets).
    const bool opens = !allowed_opens(kind).empty();
    std::vector<RefusedSyscall> list;
    for (const RefusedSyscall& entry : kRefusedSyscalls) {
        bool is_allowed = opens && entry.number == __NR_openat;
        for (const AllowedSyscall& existing : allowed)
            is_allowed = is_allowed || existing.number == entry.number;
        if (!is_allowed)
            list.push_back(entry);
    }
    return list;
}

bool sanitizer_extras_compiled_in() { return kSanitizerBuild; }

} // namespace minivmm::sandbox
