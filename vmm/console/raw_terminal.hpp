// RawTerminal: puts the console's terminal into raw mode for the VM's lifetime and guarantees
// the user's settings come back on every exit path we can intercept (POSIX.1-2017 General
// Terminal Interface, "Non-Canonical Mode Input Processing"; tcsetattr() is on the
// async-signal-safe list of XSH §2.4.3 "Signal Actions").
//
// Raw input: no line editing, no echo, and Ctrl-C / Ctrl-Z reach the guest as bytes instead of
// signalling the VMM (the Ctrl-A escape quits). Output post-processing (OPOST, ONLCR) is left
// as the user had it: the VMM's own stderr lines end in "\n" and would otherwise staircase,
// while the guest's "\r\n" renders the same with or without ONLCR.
//
// Restoration paths: the destructor; std::atexit (exit() from anywhere); a std::terminate
// handler (uncaught exceptions); and handlers for SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGABRT,
// SIGSEGV, SIGBUS, SIGFPE and SIGILL that restore the terminal and then die of the same signal
// with its default action. Signal handlers are installed only where the disposition is still
// SIG_DFL, so a handler the VMM (or a sanitizer) installed earlier is left alone; such a
// handler should call RawTerminal::restore_saved() itself. SIGKILL and _exit() cannot be
// intercepted.
#pragma once

#include <unistd.h>

namespace minivmm {

class RawTerminal {
public:
    // Switches `fd` to raw mode when it is a terminal; otherwise (a pipe, a file) does nothing.
    // Only one RawTerminal is active per process: a second one while the first is active does
    // nothing. Throws SysError when `fd` is a terminal that refuses the change.
    explicit RawTerminal(int fd = STDIN_FILENO);
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

    // True when this object switched a terminal to raw mode and owes its restoration.
    [[nodiscard]] bool active() const { return m_active; }

    // Restores the saved settings if a RawTerminal is active. Async-signal-safe: callable from
    // a signal handler, an atexit handler or a terminate handler. Idempotent.
    static void restore_saved() noexcept;

private:
    bool m_active = false;
};

} // namespace minivmm
