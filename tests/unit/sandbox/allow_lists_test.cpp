// Tests for vmm/sandbox/allow_lists.hpp: the per-thread-kind lists as data.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>

#include <set>
#include <string>

#include "vmm/sandbox/allow_lists.hpp"

using namespace minivmm::sandbox;

namespace {
bool allows(ThreadKind kind, std::string_view name)
{
    for (const auto& entry : allowed_syscalls(kind))
        if (entry.name == name)
            return true;
    return false;
}

bool allows_ioctl(ThreadKind kind, unsigned long request)
{
    for (const auto& entry : allowed_ioctls(kind))
        if (entry.request == request)
            return true;
    return false;
}
} // namespace

TEST_CASE("every entry names a real x86_64 system call with its own number, once, and says who needs it")
{
    for (ThreadKind kind : kAllThreadKinds) {
        INFO(thread_kind_name(kind));
        std::set<long> numbers;
        for (const auto& entry : allowed_syscalls(kind)) {
            INFO(entry.name);
            CHECK(seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, std::string(entry.name).c_str()) == entry.number);
            CHECK(numbers.insert(entry.number).second);
            CHECK_FALSE(entry.why.empty());
        }
        std::set<int> flag_sets;
        for (const auto& entry : allowed_opens(kind)) {
            INFO(entry.name);
            CHECK(flag_sets.insert(entry.flags).second);
            CHECK_FALSE(entry.why.empty());
        }
        std::set<unsigned long> requests;
        for (const auto& entry : allowed_ioctls(kind)) {
            INFO(entry.name);
            CHECK(requests.insert(entry.request).second);
            CHECK_FALSE(entry.why.empty());
        }
    }
}

TEST_CASE("ioctl is never allowed wholesale: only through the request list")
{
    for (ThreadKind kind : kAllThreadKinds)
        CHECK_FALSE(allows(kind, "ioctl"));
}

TEST_CASE("every thread can report a violation and end the process")
{
    for (ThreadKind kind : kAllThreadKinds) {
        INFO(thread_kind_name(kind));
        CHECK(allows(kind, "write"));
        CHECK(allows(kind, "exit_group"));
        CHECK(allows(kind, "rt_sigreturn"));
        CHECK(allows(kind, "futex"));
    }
}

TEST_CASE("the vCPU thread runs the vCPU but cannot build machines; the loop cannot run a vCPU")
{
    CHECK(allows_ioctl(ThreadKind::Vcpu, KVM_RUN));
    CHECK_FALSE(allows_ioctl(ThreadKind::EventLoop, KVM_RUN));
    for (ThreadKind kind : kAllThreadKinds) {
        INFO(thread_kind_name(kind));
        CHECK_FALSE(allows_ioctl(kind, KVM_CREATE_VM));
        CHECK_FALSE(allows_ioctl(kind, KVM_CREATE_VCPU));
        CHECK_FALSE(allows_ioctl(kind, KVM_SET_USER_MEMORY_REGION));
        CHECK_FALSE(allows_ioctl(kind, KVM_SET_CPUID2));
        // A vCPU's system state: only gdb, whose user already owns the guest, may rewrite it.
        CHECK(allows_ioctl(kind, KVM_SET_SREGS) == (kind == ThreadKind::Gdb));
    }
}

TEST_CASE("no thread may start programs, open files, make sockets or change identity after setup")
{
    for (ThreadKind kind : kAllThreadKinds) {
        INFO(thread_kind_name(kind));
        for (const auto* name : {"execve", "execveat", "socket", "connect", "bind", "setuid", "setgid", "mount",
                 "unshare", "pivot_root", "kexec_load", "init_module", "bpf", "process_vm_writev", "fork", "vfork",
                 "uname", "mknodat", "chmod", "io_uring_setup", "memfd_create"}) {
            INFO(name);
            CHECK_FALSE(allows(kind, name));
        }
        // One exception, on purpose: the event loop (the main thread, which tears the VM down)
        // removes the control API's socket file at exit, as the API promises. No other kind may
        // delete files. (An "api" thread kind that owns its socket to the end would lift it.)
        if (kind != ThreadKind::EventLoop)
            CHECK_FALSE(allows(kind, "unlink"));
        // The other: the backup copier removes its own partial file when a backup fails or is
        // cancelled (a backup never leaves half a DEST behind), and so does the snapshot thread
        // with a snapshot's partial files and the DIR it created (no DIR that looks valid).
        if (kind != ThreadKind::Backup && kind != ThreadKind::Snapshot)
            CHECK_FALSE(allows(kind, "unlinkat"));
        if (kind != ThreadKind::Snapshot)
            CHECK_FALSE(allows(kind, "rmdir"));
        if (!sanitizer_extras_compiled_in()) {
            for (const auto* name : {"open", "openat", "clone", "clone3", "ptrace", "prctl"}) {
                INFO(name);
                CHECK_FALSE(allows(kind, name));
            }
        }
    }
}

TEST_CASE("openat only with listed flags: the backup and snapshot threads alone, and they never truncate or write an existing file")
{
    for (ThreadKind kind : kAllThreadKinds) {
        INFO(thread_kind_name(kind));
        if (kind != ThreadKind::Backup && kind != ThreadKind::Snapshot)
            CHECK(allowed_opens(kind).empty());
    }
    REQUIRE_FALSE(allowed_opens(ThreadKind::Backup).empty());
    REQUIRE_FALSE(allowed_opens(ThreadKind::Snapshot).empty());
    auto opens = allowed_opens(ThreadKind::Backup);
    for (const auto& entry : allowed_opens(ThreadKind::Snapshot))
        opens.push_back(entry);
    for (const auto& entry : opens) {
        INFO(entry.name);
        CHECK((entry.flags & (O_TRUNC | O_APPEND | O_PATH)) == 0);
        CHECK((entry.flags & O_TMPFILE) != O_TMPFILE); // O_TMPFILE includes O_DIRECTORY
        // Writing only into a file this very call creates.
        if ((entry.flags & O_ACCMODE) != O_RDONLY)
            CHECK((entry.flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL));
        if ((entry.flags & O_CREAT) != 0)
            CHECK((entry.flags & O_EXCL) != 0);
    }
}

TEST_CASE("the lists stay as short as Firecracker's (~27 vCPU, ~50 VMM system calls)")
{
    if (sanitizer_extras_compiled_in())
        return; // the sanitizer runtime's additions are counted separately
    CHECK(allowed_syscalls(ThreadKind::Vcpu).size() <= 27);
    CHECK(allowed_syscalls(ThreadKind::EventLoop).size() <= 50);
}

TEST_CASE("the snapshot thread reads KVM state and writes files, but sets no state and runs no vCPU")
{
    CHECK(allows_ioctl(ThreadKind::Snapshot, KVM_GET_REGS));
    CHECK(allows_ioctl(ThreadKind::Snapshot, KVM_GET_IRQCHIP));
    for (unsigned long request : {static_cast<unsigned long>(KVM_RUN), static_cast<unsigned long>(KVM_SET_REGS),
             static_cast<unsigned long>(KVM_SET_IRQCHIP), static_cast<unsigned long>(KVM_SET_USER_MEMORY_REGION)})
        CHECK_FALSE(allows_ioctl(ThreadKind::Snapshot, request));
    for (const auto* name : {"accept4", "epoll_ctl", "preadv"}) {
        INFO(name);
        CHECK_FALSE(allows(ThreadKind::Snapshot, name));
    }
    if (!sanitizer_extras_compiled_in())
        CHECK_FALSE(allows(ThreadKind::Snapshot, "read")); // LSan reads /proc/self/maps from any thread
}

TEST_CASE("the API thread speaks HTTP on its socket and nothing else; the backup thread works on files, not on the VM")
{
    for (const auto* name : {"pread64", "pwrite64", "preadv", "pwritev", "fallocate", "ftruncate", "renameat2"}) {
        INFO(name);
        CHECK_FALSE(allows(ThreadKind::Api, name));
    }
    CHECK(allows(ThreadKind::Api, "accept4"));
    CHECK_FALSE(allows(ThreadKind::Backup, "accept4"));
    CHECK_FALSE(allows(ThreadKind::Backup, "epoll_ctl"));
    CHECK(allows(ThreadKind::Backup, "preadv"));
    CHECK(allows(ThreadKind::Backup, "pwritev"));
    // The copy-before-write on the event loop uses the same two calls: nothing new there.
    CHECK(allows(ThreadKind::EventLoop, "preadv"));
    CHECK(allows(ThreadKind::EventLoop, "pwritev"));
    CHECK(allowed_ioctls(ThreadKind::Api).size() == allowed_ioctls(ThreadKind::Backup).size()); // the common ones only
    if (!sanitizer_extras_compiled_in()) {
        CHECK(allowed_syscalls(ThreadKind::Api).size() <= 30);
        CHECK(allowed_syscalls(ThreadKind::Backup).size() <= 30);
    }
}

TEST_CASE("refused calls fail with an errno instead of ending the VMM, and are never also allowed")
{
    for (ThreadKind kind : kAllThreadKinds) {
        INFO(thread_kind_name(kind));
        for (const auto& entry : refused_syscalls(kind)) {
            INFO(entry.name);
            CHECK(seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, std::string(entry.name).c_str()) == entry.number);
            CHECK(entry.error > 0);
            CHECK_FALSE(entry.why.empty());
            CHECK_FALSE(allows(kind, entry.name));
        }
        // open and openat; openat is not refused whole where it has flag sets (the backup thread).
        if (!sanitizer_extras_compiled_in())
            CHECK(refused_syscalls(kind).size() == (allowed_opens(kind).empty() ? 2u : 1u));
    }
}
