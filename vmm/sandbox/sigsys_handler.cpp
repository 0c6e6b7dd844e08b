// The seccomp violation handler (sigsys_handler.hpp).
#include "vmm/sandbox/sigsys_handler.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <seccomp.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "vmm/base/exit_code.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/sandbox/violation_message.hpp"

namespace minivmm::sandbox {

namespace {
// x86_64 numbers stay below 512 (arch/x86/entry/syscalls/syscall_64.tbl).
constexpr std::size_t kNameSlots = 512;
constexpr std::size_t kNameLength = 32;
std::array<std::array<char, kNameLength>, kNameSlots> g_syscall_names {};
void (*g_cleanup)() noexcept = nullptr;
// initial-exec TLS: reading it in a signal handler needs no allocation (no __tls_get_addr).
thread_local const char* t_thread_kind __attribute__((tls_model("initial-exec"))) = "unknown";

void fill_syscall_names()
{
    for (std::size_t number = 0; number < kNameSlots; ++number) {
        char* name = ::seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, static_cast<int>(number));
        if (!name)
            continue;
        std::strncpy(g_syscall_names[number].data(), name, kNameLength - 1);
        std::free(name);
    }
}

void on_sigsys(int, siginfo_t* info, void*)
{
    // si_syscall: the number of the trapped call (seccomp(2), SECCOMP_RET_TRAP).
    const long number = info->si_syscall;
    const char* name = number >= 0 && std::size_t(number) < kNameSlots ? g_syscall_names[std::size_t(number)].data() : "";
    char line[256];
    const std::size_t length = format_violation(line, sizeof line, t_thread_kind, name, number);
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line, length);
    if (g_cleanup)
        g_cleanup();
    ::_exit(to_int(ExitCode::SeccompViolation));
}
} // namespace

void install_sigsys_handler(void (*cleanup)() noexcept)
{
    static std::once_flag names_filled;
    std::call_once(names_filled, fill_syscall_names);
    g_cleanup = cleanup;
    struct sigaction action {};
    action.sa_sigaction = on_sigsys;
    action.sa_flags = SA_SIGINFO;
    sigfillset(&action.sa_mask); // nothing interrupts the handler
    if (::sigaction(SIGSYS, &action, nullptr) < 0)
        throw SysError("sigaction SIGSYS");
}

void set_current_thread_kind(ThreadKind kind) noexcept { t_thread_kind = thread_kind_name(kind).data(); }

void run_violation_test_hook(ThreadKind kind)
{
    static const char* const requested = std::getenv("MINIVMM_TEST_SECCOMP_VIOLATION");
    if (!requested || thread_kind_name(kind) != requested)
        return;
    utsname name {};
    ::syscall(SYS_uname, &name);
}

} // namespace minivmm::sandbox
