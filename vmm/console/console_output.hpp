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
#include <string>
#include <vector>

#include "vmm/base/unique_fd.hpp"
#include "vmm/console/console_spec.hpp"

namespace minivmm {

class ConsoleOutput : public std::enable_shared_from_this<ConsoleOutput> {
public:
    // Stdio writes to `stdout_fd` (not owned). None discards. File opens spec.path
    // (close-on-exec) and truncates it only after two checks, each a UserError naming the path:
    // it must not be the same file (device and inode, symlinks resolved) as any of
    // `disk_paths`, the VM's disks; and no other process may hold a flock(2) on it, which is
    // how a running VMM marks its disks (devices/virtio/blk/disk_image.hpp). A regular file or
    // block device then stays locked (LOCK_EX) for the VM's life, so no other VMM opens it as
    // a disk meanwhile. Any other failure to open it is a UserError too.
    static std::shared_ptr<ConsoleOutput> create(
        const ConsoleSpec& spec, const std::vector<std::string>& disk_paths = {}, int stdout_fd = STDOUT_FILENO);

    // The function to give Serial16550's constructor; it keeps this object alive.
    [[nodiscard]] std::function<void(std::span<const std::uint8_t>)> sink();

    // Writes all of `bytes` (retrying EINTR and short writes, waiting while the sink is full:
    // the guest's UART waits for its line). Thread-safe; concurrent calls do not interleave
    // within a call. After a write error (EPIPE, EIO, a full disk) further output is discarded:
    // guest output must never stop the guest. Once stop_waiting() was called, bytes the sink
    // does not take at once are dropped and counted instead.
    // Note: writing to a closed pipe raises SIGPIPE unless the process ignores it.
    void write(std::span<const std::uint8_t> bytes);

    // From any thread, when the VM stops: a write() waiting for a full sink (a reader that
    // stopped reading) returns at once, and no later write() waits. The stop must never wait
    // for the console's reader.
    void stop_waiting();

    // The errno of the write that failed, 0 while output works.
    [[nodiscard]] int error() const { return m_error.load(); }
    // Bytes dropped because the sink was full after stop_waiting().
    [[nodiscard]] std::uint64_t dropped_bytes() const { return m_dropped.load(); }

    ConsoleOutput(const ConsoleOutput&) = delete;
    ConsoleOutput& operator=(const ConsoleOutput&) = delete;

private:
    ConsoleOutput(int fd, UniqueFd owned);
    // Waits until m_fd takes bytes (true) or stop_waiting() was called and it does not (false).
    bool wait_writable();

    int m_fd; // -1: discard
    UniqueFd m_owned;
    UniqueFd m_stop_event; // eventfd, readable once stop_waiting() was called
    std::mutex m_mutex;
    std::atomic<int> m_error {0};
    std::atomic<bool> m_stopping {false};
    std::atomic<std::uint64_t> m_dropped {0};
};

} // namespace minivmm
