// Building and loading the per-kind seccomp filters with libseccomp (syscall_filter.hpp).
#include "vmm/sandbox/syscall_filter.hpp"

#include <sys/prctl.h>

#include <seccomp.h>

#include <utility>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/sandbox/allow_lists.hpp"
#include "vmm/sandbox/sigsys_handler.hpp"

namespace minivmm::sandbox {

namespace {
scmp_filter_ctx context_of(void* context) { return static_cast<scmp_filter_ctx>(context); }
} // namespace

SyscallFilter SyscallFilter::build(ThreadKind kind, SeccompMode mode)
{
    // enforce: SECCOMP_RET_TRAP, so the SIGSYS handler can name the call and the thread; log:
    // SECCOMP_RET_LOG (the call proceeds; the kernel logs it). seccomp(2), "Filter return values".
    const std::uint32_t violation = mode == SeccompMode::Log ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
    scmp_filter_ctx context = ::seccomp_init(violation);
    if (!context)
        throw SysError("seccomp_init", ENOMEM);
    SyscallFilter filter(context, kind);
    // A system call through another ABI (int 0x80, x32) matches no rule: the same verdict.
    if (int error = ::seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, violation); error < 0)
        throw SysError("seccomp_attr_set SCMP_FLTATR_ACT_BADARCH", -error);
    bool openat_allowed = false;
    for (const AllowedSyscall& entry : allowed_syscalls(kind)) {
        openat_allowed = openat_allowed || entry.number == SCMP_SYS(openat);
        if (int error = ::seccomp_rule_add(context, SCMP_ACT_ALLOW, static_cast<int>(entry.number), 0); error < 0)
            throw SysError(fmt::format("seccomp_rule_add {}", entry.name), -error);
    }
    // Calls a library may try at any time and survives failing (allow_lists.hpp): an errno under
    // enforce; under log the default verdict already lets them through (and libseccomp refuses a
    // rule that repeats the default action).
    if (mode != SeccompMode::Log) {
        for (const RefusedSyscall& entry : refused_syscalls(kind)) {
            if (int error = ::seccomp_rule_add(context, SCMP_ACT_ERRNO(static_cast<std::uint32_t>(entry.error)),
                    static_cast<int>(entry.number), 0);
                error < 0)
                throw SysError(fmt::format("seccomp_rule_add {}", entry.name), -error);
        }
    }
    // ioctl(2) only with the listed requests. The kernel's request argument is an unsigned int
    // (fs/ioctl.c, SYSCALL_DEFINE3(ioctl, unsigned int fd, unsigned int cmd, unsigned long arg)):
    // compare the low 32 bits only.
    for (const AllowedIoctl& entry : allowed_ioctls(kind)) {
        if (int error = ::seccomp_rule_add(context, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                SCMP_A1_32(SCMP_CMP_EQ, static_cast<std::uint32_t>(entry.request)));
            error < 0)
            throw SysError(fmt::format("seccomp_rule_add ioctl {}", entry.name), -error);
    }
    // openat(2) only with the listed flag sets (argument 2, an int: the low 32 bits), unless the
    // list allows it whole (the sanitizer runtime's additions).
    if (!openat_allowed) {
        for (const AllowedOpen& entry : allowed_opens(kind)) {
            if (int error = ::seccomp_rule_add(context, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                    SCMP_A2_32(SCMP_CMP_EQ, static_cast<std::uint32_t>(entry.flags)));
                error < 0)
                throw SysError(fmt::format("seccomp_rule_add openat {}", entry.name), -error);
        }
    }
    return filter;
}

SyscallFilter::~SyscallFilter()
{
    if (m_context)
        ::seccomp_release(context_of(m_context));
}

SyscallFilter::SyscallFilter(SyscallFilter&& other) noexcept
    : m_context(std::exchange(other.m_context, nullptr))
    , m_kind(other.m_kind)
{
}

SyscallFilter& SyscallFilter::operator=(SyscallFilter&& other) noexcept
{
    if (this != &other) {
        if (m_context)
            ::seccomp_release(context_of(m_context));
        m_context = std::exchange(other.m_context, nullptr);
        m_kind = other.m_kind;
    }
    return *this;
}

void SyscallFilter::load_into_current_thread() const
{
    // Name the thread first: a violation from here on is reported with this kind.
    set_current_thread_kind(m_kind);
    if (int error = ::seccomp_load(context_of(m_context)); error < 0)
        throw SysError(fmt::format("loading the seccomp filter of the {} thread", thread_kind_name(m_kind)), -error);
}

void forbid_new_privileges()
{
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        throw SysError("prctl(PR_SET_NO_NEW_PRIVS)");
}

} // namespace minivmm::sandbox
