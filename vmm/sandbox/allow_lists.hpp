// The seccomp allow-lists, one per thread kind, as data: every system call a thread of that kind
// may make after setup, each with who needs it, for ioctl(2) the request numbers it may pass
// (the filter compares argument 1), and for openat(2) the flag sets (argument 2). Everything
// else is a violation (syscall_filter.hpp).
//
// The lists were found by running the whole test suite (both disk engines, taps, the limiter,
// --metrics, --trace, a terminal console, the Linux guests) with `--seccomp log` and in enforce
// mode, in the normal and the ASan/UBSan build. Sanitizer builds (GCC defines
// __SANITIZE_ADDRESS__) add what the sanitizer runtime itself calls, e.g. LeakSanitizer's
// StopTheWorld at exit (clone, ptrace, wait4, /proc/self/task): compiled in there only.
#pragma once

#include <string_view>
#include <vector>

#include "vmm/sandbox/thread_kind.hpp"

namespace minivmm::sandbox {

struct AllowedSyscall {
    long number;           // __NR_* for x86_64
    std::string_view name; // as in syscalls(2)
    std::string_view why;  // who needs it
};

// openat(2) with exactly these flags (the filter compares argument 2); openat never appears in
// allowed_syscalls() outside sanitizer builds.
struct AllowedOpen {
    int flags;
    std::string_view name;
    std::string_view why;
};

struct AllowedIoctl {
    unsigned long request;
    std::string_view name;
    std::string_view why;
};

// A system call no thread may make, but that a library may still try from any thread and copes
// with when it fails: under enforce it fails with `error` instead of being a violation.
struct RefusedSyscall {
    long number;
    std::string_view name;
    int error; // errno the call returns
    std::string_view why;
};

// The system calls `kind` may make (ioctl is never among them: see allowed_ioctls).
[[nodiscard]] std::vector<AllowedSyscall> allowed_syscalls(ThreadKind kind);
// The ioctl(2) requests `kind` may make; ioctl is allowed with these requests only.
[[nodiscard]] std::vector<AllowedIoctl> allowed_ioctls(ThreadKind kind);
// The refused calls for `kind`: the same for every kind, less what `kind` is allowed (a sanitizer
// build allows openat for LeakSanitizer).
[[nodiscard]] std::vector<RefusedSyscall> refused_syscalls(ThreadKind kind);
// The openat(2) flag sets `kind` may open files with (none for most kinds).
[[nodiscard]] std::vector<AllowedOpen> allowed_opens(ThreadKind kind);
// True in a build whose lists include the sanitizer runtime's extra system calls.
[[nodiscard]] bool sanitizer_extras_compiled_in();

} // namespace minivmm::sandbox
