// ConsoleOutput: write-all of guest serial output to stdout or a file.
#include "vmm/console/console_output.hpp"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm {

std::shared_ptr<ConsoleOutput> ConsoleOutput::create(const ConsoleSpec& spec, int stdout_fd)
{
    // make_shared cannot reach the private constructor.
    switch (spec.kind) {
    case ConsoleSpec::Kind::Stdio:
        return std::shared_ptr<ConsoleOutput>(new ConsoleOutput(stdout_fd, UniqueFd()));
    case ConsoleSpec::Kind::File: {
        UniqueFd file(::open(spec.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!file)
            throw UserError(fmt::format("cannot open serial output file '{}': {}", spec.path, std::strerror(errno)));
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

void ConsoleOutput::write(std::span<const std::uint8_t> bytes)
{
    if (m_fd < 0 || bytes.empty())
        return;
    std::lock_guard lock(m_mutex);
    while (!bytes.empty() && m_error.load() == 0) {
        const ssize_t written = ::write(m_fd, bytes.data(), bytes.size());
        if (written >= 0) {
            bytes = bytes.subspan(static_cast<std::size_t>(written));
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            // Someone made the shared stdout non-blocking: wait until it drains, as a real
            // UART waits for its line.
            pollfd ready{m_fd, POLLOUT, 0};
            ::poll(&ready, 1, -1);
            continue;
        }
        m_error.store(errno);
    }
}

} // namespace minivmm
