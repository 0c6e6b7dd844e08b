// ConsoleOutput: where the bytes the guest transmits on its serial port end up, per the
// `--serial` spec: stdout, a file, or nowhere. Created before the UART, whose output sink it
// provides (DESIGN.md, "Threads and events": the sink runs on vCPU threads).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>

#include "vmm/base/unique_fd.hpp"
#include "vmm/console/console_spec.hpp"

namespace minivmm {

class ConsoleOutput : public std::enable_shared_from_this<ConsoleOutput> {
public:
    // Stdio writes to `stdout_fd` (not owned). File creates or truncates spec.path
    // (close-on-exec) and throws UserError naming the path when it cannot. None discards.
    static std::shared_ptr<ConsoleOutput> create(const ConsoleSpec& spec, int stdout_fd = STDOUT_FILENO);

    // The function to give Serial16550's constructor; it keeps this object alive.
    [[nodiscard]] std::function<void(std::span<const std::uint8_t>)> sink();

    // Writes all of `bytes` (retrying EINTR and short writes, waiting out EAGAIN). Thread-safe;
    // concurrent calls do not interleave within a call. After a write error (EPIPE, EIO, a
    // full disk) further output is discarded: guest output must never stop the guest.
    // Note: writing to a closed pipe raises SIGPIPE unless the process ignores it.
    void write(std::span<const std::uint8_t> bytes);

    // The errno of the write that failed, 0 while output works.
    [[nodiscard]] int error() const { return m_error.load(); }

    ConsoleOutput(const ConsoleOutput&) = delete;
    ConsoleOutput& operator=(const ConsoleOutput&) = delete;

private:
    ConsoleOutput(int fd, UniqueFd owned) : m_fd(fd), m_owned(std::move(owned)) {}

    int m_fd; // -1: discard
    UniqueFd m_owned;
    std::mutex m_mutex;
    std::atomic<int> m_error{0};
};

} // namespace minivmm
