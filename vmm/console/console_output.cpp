// ConsoleOutput: write-all of guest serial output to stdout or a file, refusing a file that is a
// disk, and never holding up a stop for a reader that does not read.
#include "vmm/console/console_output.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm {
namespace {

// Opens the console file without truncating it, and truncates it only once it is known to be
// no disk of this VM and no file another process holds locked.
UniqueFd open_console_file(const std::string& path, const std::vector<std::string>& disk_paths)
{
    UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!file)
        throw UserError(fmt::format("cannot open serial output file '{}': {}", path, std::strerror(errno)));
    struct stat console {};
    if (::fstat(file.get(), &console) != 0)
        throw SysError(fmt::format("fstat serial output file {}", path));
    // Identity, not spelling: "disk.img", "./disk.img" and a symlink to it are one file.
    for (const auto& disk : disk_paths) {
        struct stat info {};
        if (::stat(disk.c_str(), &info) == 0 && info.st_dev == console.st_dev && info.st_ino == console.st_ino)
            throw UserError(fmt::format("--serial file:{} is the VM's disk {}; the console would overwrite it", path, disk));
    }
    if (S_ISREG(console.st_mode) || S_ISBLK(console.st_mode)) {
        // The flock(2) convention of disk_image.cpp: a running VMM holds LOCK_EX on each writable
        // disk and LOCK_SH on each read-only one, so a lock we cannot take means a VM uses it.
        while (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno == EINTR)
                continue;
            if (errno == EWOULDBLOCK)
                throw UserError(fmt::format(
                    "--serial file:{} is in use by another process (locked, e.g. a running VM's disk)", path));
            throw SysError(fmt::format("flock serial output file {}", path));
        }
    }
    if (S_ISREG(console.st_mode) && ::ftruncate(file.get(), 0) != 0)
        throw UserError(fmt::format("cannot truncate serial output file '{}': {}", path, std::strerror(errno)));
    return file;
}

} // namespace

ConsoleOutput::ConsoleOutput(int fd, UniqueFd owned)
    : m_fd(fd)
    , m_owned(std::move(owned))
    , m_stop_event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (!m_stop_event)
        throw SysError("eventfd for the console output");
}

std::shared_ptr<ConsoleOutput> ConsoleOutput::create(
    const ConsoleSpec& spec, const std::vector<std::string>& disk_paths, int stdout_fd)
{
    // make_shared cannot reach the private constructor.
    switch (spec.kind) {
    case ConsoleSpec::Kind::Stdio:
        return std::shared_ptr<ConsoleOutput>(new ConsoleOutput(stdout_fd, UniqueFd()));
    case ConsoleSpec::Kind::File: {
        UniqueFd file = open_console_file(spec.path, disk_paths);
        const int fd = file.get();
        return std::shared_ptr<ConsoleOutput>(new ConsoleOutput(fd, std::move(file)));
    }
    case ConsoleSpec::Kind::None:
        break;
    }
    return std::shared_ptr<ConsoleOutput>(new ConsoleOutput(-1, UniqueFd()));
}

std::function<void(std::span<const std::uint8_t>)> ConsoleOutput::sink()
{
    return [self = shared_from_this()](std::span<const std::uint8_t> bytes) { self->write(bytes); };
}

void ConsoleOutput::stop_waiting()
{
    m_stopping.store(true);
    const std::uint64_t one = 1;
    (void)!::write(m_stop_event.get(), &one, sizeof one);
}

bool ConsoleOutput::wait_writable()
{
    for (;;) {
        const bool stopping = m_stopping.load();
        // Once stopping, only a sink that takes bytes right now gets them.
        pollfd ready[2] {{m_fd, POLLOUT, 0}, {m_stop_event.get(), POLLIN, 0}};
        const int count = ::poll(ready, stopping ? 1 : 2, stopping ? 0 : -1);
        if (count < 0 && errno == EINTR)
            continue; // a vCPU kick: look at the stop flag again
        if (count < 0)
            return true; // let write() report the error
        if (ready[0].revents != 0)
            return true; // writable, or an error/hang-up that write() will report
        if (stopping)
            return false;
    }
}

void ConsoleOutput::write(std::span<const std::uint8_t> bytes)
{
    if (m_fd < 0 || bytes.empty())
        return;
    std::lock_guard lock(m_mutex);
    while (!bytes.empty() && m_error.load() == 0) {
        if (!wait_writable()) {
            m_dropped.fetch_add(bytes.size());
            return;
        }
        // At most PIPE_BUF bytes: Linux reports POLLOUT on a pipe only while a whole page is
        // free (fs/pipe.c, pipe_poll()), room for PIPE_BUF bytes, so this write does not block.
        // A terminal may still block briefly; the stop's vCPU kick (a signal without SA_RESTART)
        // ends such a write with EINTR.
        const std::size_t chunk = std::min<std::size_t>(bytes.size(), PIPE_BUF);
        const ssize_t written = ::write(m_fd, bytes.data(), chunk);
        if (written >= 0) {
            bytes = bytes.subspan(static_cast<std::size_t>(written));
            continue;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue; // a kick, or someone made the shared stdout non-blocking: wait again
        m_error.store(errno);
    }
}

} // namespace minivmm
