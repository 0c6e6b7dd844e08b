// RawTerminal: raw mode on the console terminal, restored on every interceptable exit path.
#include "vmm/console/raw_terminal.hpp"

#include <termios.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <mutex>

#include "vmm/base/sys_error.hpp"

namespace minivmm {

namespace {

// Process-wide, because signal and exit handlers cannot reach an object. Written before
// g_active is set and not changed while it is set, so a handler that sees g_active == 1 reads
// a complete termios.
volatile std::sig_atomic_t g_active = 0;
int g_fd = -1;
termios g_saved{};

std::terminate_handler g_previous_terminate = nullptr;

constexpr int kRestoreSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};

void restore_at_exit()
{
    RawTerminal::restore_saved();
}

[[noreturn]] void restore_on_terminate()
{
    RawTerminal::restore_saved();
    if (g_previous_terminate)
        g_previous_terminate();
    std::abort();
}

void restore_on_signal(int signal_number)
{
    const int saved_errno = errno;
    RawTerminal::restore_saved();
    // SA_RESETHAND put the default action back: re-raising ends the process the way the
    // signal would have (exit status, core dump) had we not been here.
    ::raise(signal_number);
    errno = saved_errno;
}

void install_restore_handlers()
{
    static std::once_flag once;
    std::call_once(once, [] {
        std::atexit(restore_at_exit);
        g_previous_terminate = std::set_terminate(restore_on_terminate);
        for (const int signal_number : kRestoreSignals) {
            struct sigaction current {};
            if (::sigaction(signal_number, nullptr, &current) < 0 || current.sa_handler != SIG_DFL
                || (current.sa_flags & SA_SIGINFO))
                continue;
            struct sigaction action {};
            action.sa_handler = restore_on_signal;
            sigemptyset(&action.sa_mask);
            action.sa_flags = SA_RESETHAND | SA_NODEFER;
            ::sigaction(signal_number, &action, nullptr);
        }
    });
}

} // namespace

RawTerminal::RawTerminal(int fd)
{
    if (!::isatty(fd) || g_active)
        return;
    termios saved{};
    if (::tcgetattr(fd, &saved) < 0)
        throw SysError("tcgetattr on the console terminal");
    termios raw = saved;
    ::cfmakeraw(&raw);
    raw.c_oflag = saved.c_oflag; // keep OPOST/ONLCR: see the header
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;

    g_fd = fd;
    g_saved = saved;
    install_restore_handlers();
    g_active = 1;
    // TCSANOW rather than TCSAFLUSH: keystrokes typed ahead of the switch belong to the guest.
    if (::tcsetattr(fd, TCSANOW, &raw) < 0) {
        const int error = errno;
        g_active = 0;
        throw SysError("tcsetattr raw mode on the console terminal", error);
    }
    m_active = true;
}

RawTerminal::~RawTerminal()
{
    if (m_active)
        restore_saved();
}

void RawTerminal::restore_saved() noexcept
{
    if (!g_active)
        return;
    // Only async-signal-safe calls from here on.
    ::tcsetattr(g_fd, TCSANOW, &g_saved);
    g_active = 0;
}

} // namespace minivmm
