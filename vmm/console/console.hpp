// Console: the host side of the guest's serial console: stdin, filtered for Ctrl-A commands,
// into the 16550's receiver with backpressure, on the VMM's event loop (DESIGN.md, "Threads
// and events"). Guest output goes through ConsoleOutput, created before the UART.
//
// Wiring, in this order:
//     auto output = ConsoleOutput::create(spec);
//     Serial16550 serial(irq4, output->sink());
//     Console console(loop, spec, serial, [&] { vm.request_stop(ExitCode::Interrupted); });
// Destroy the Console before the Serial16550 and while the loop thread is not running.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "devices/legacy/serial_16550.hpp"
#include "vmm/base/event_fd.hpp"
#include "vmm/base/event_loop.hpp"
#include "vmm/console/console_spec.hpp"
#include "vmm/console/escape_filter.hpp"
#include "vmm/console/raw_terminal.hpp"

namespace minivmm {

// The host fds the console reads from and prints its help to (not owned); tests pass pipes.
// (At namespace scope: a nested struct's default member initializers cannot serve a default
// argument of the enclosing class.)
struct ConsoleFds {
    int input = STDIN_FILENO;
    int error = STDERR_FILENO;
};

class Console {
public:
    using Fds = ConsoleFds;

    // Stdio: raw mode when `fds.input` is a terminal, input watched on `loop`. File and None:
    // no input at all. `on_quit` runs on the loop thread after Ctrl-A x.
    Console(EventLoop& loop, const ConsoleSpec& spec, Serial16550& serial, std::function<void()> on_quit,
            Fds fds = {});
    ~Console();
    Console(const Console&) = delete;
    Console& operator=(const Console&) = delete;

    // False once input reached EOF, failed or the user quit (pending bytes still drain).
    [[nodiscard]] bool input_open() const { return m_input_open; }
    // Bytes read from the host but not yet accepted by the UART.
    [[nodiscard]] std::size_t pending() const { return m_pending.size(); }

private:
    void on_input(std::uint32_t events);
    void on_rx_space();
    // Reads one chunk from input into the filter; false at EOF or error.
    bool read_chunk();
    // Pushes pending bytes into the UART.
    void drain();
    // Watches input exactly when it is open, pollable and nothing is pending.
    void update_watch();
    void close_input();

    EventLoop& m_loop;
    Serial16550& m_serial;
    std::function<void()> m_on_quit;
    Fds m_fds;
    std::optional<RawTerminal> m_raw;
    EscapeFilter m_filter;
    // Shared with the rx-space callback, which runs on vCPU threads and may outlive us by a
    // call that already started.
    std::shared_ptr<EventFd> m_rx_space;
    std::vector<std::uint8_t> m_pending;
    bool m_stdio = false; // input side set up: rx-space event on the loop
    bool m_input_open = false;
    bool m_pollable = true; // false for regular files and /dev/null, which epoll refuses
    bool m_watching = false;
};

} // namespace minivmm
