// Console: stdin -> Ctrl-A filter -> 16550 receiver, with backpressure, on the event loop.
#include "vmm/console/console.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>

#include "vmm/base/sys_error.hpp"

namespace minivmm {

namespace {

constexpr std::size_t kReadChunk = 4096;

void write_all_best_effort(int fd, std::string_view text)
{
    while (!text.empty()) {
        const ssize_t written = ::write(fd, text.data(), text.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return;
        text.remove_prefix(static_cast<std::size_t>(written));
    }
}

} // namespace

Console::Console(EventLoop& loop, const ConsoleSpec& spec, Serial16550& serial, std::function<void()> on_quit,
                 Fds fds)
    : m_loop(loop)
    , m_serial(serial)
    , m_on_quit(std::move(on_quit))
    , m_fds(fds)
    , m_rx_space(std::make_shared<EventFd>())
{
    if (spec.kind != ConsoleSpec::Kind::Stdio)
        return;
    m_stdio = true;
    m_input_open = true;
    m_raw.emplace(m_fds.input);

    m_loop.add(m_rx_space->fd(), EPOLLIN, [this](std::uint32_t) { on_rx_space(); });
    // The UART calls this on the vCPU thread that read RBR: only signal the loop from there.
    m_serial.set_rx_space_callback([rx_space = m_rx_space] { rx_space->signal(); });

    try {
        m_loop.add(m_fds.input, EPOLLIN, [this](std::uint32_t events) { on_input(events); });
        m_watching = true;
    } catch (const SysError& error) {
        if (error.error() != EPERM) {
            m_serial.set_rx_space_callback({});
            m_loop.remove(m_rx_space->fd());
            throw;
        }
        // epoll refuses regular files and /dev/null; reads from them never block, so pump
        // them from the rx-space event instead, starting now.
        m_pollable = false;
        m_rx_space->signal();
    }
}

Console::~Console()
{
    m_serial.set_rx_space_callback({});
    if (m_watching)
        m_loop.remove(m_fds.input);
    if (m_stdio)
        m_loop.remove(m_rx_space->fd());
}

void Console::on_input(std::uint32_t)
{
    // Level-triggered: one read per event, so a read never blocks even though stdin stays in
    // blocking mode (making a shared stdin non-blocking would leak to the user's shell).
    if (!read_chunk())
        close_input();
    drain();
    update_watch();
}

void Console::on_rx_space()
{
    m_rx_space->consume();
    drain();
    // Non-pollable input: keep reading while the UART takes everything.
    while (!m_pollable && m_input_open && m_pending.empty()) {
        if (!read_chunk())
            close_input();
        drain();
    }
    update_watch();
}

bool Console::read_chunk()
{
    std::array<std::uint8_t, kReadChunk> buffer;
    ssize_t count;
    do {
        count = ::read(m_fds.input, buffer.data(), buffer.size());
    } while (count < 0 && errno == EINTR);
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (count <= 0)
        return false; // EOF, or an error such as EIO after the terminal hung up

    EscapeFilter::Result result = m_filter.filter(std::span(buffer.data(), static_cast<std::size_t>(count)));
    m_pending.insert(m_pending.end(), result.to_guest.begin(), result.to_guest.end());
    switch (result.action) {
    case EscapeFilter::Action::None:
        break;
    case EscapeFilter::Action::ShowHelp:
        write_all_best_effort(m_fds.error, std::string(EscapeFilter::kHelp) + "\n");
        break;
    case EscapeFilter::Action::Quit:
        close_input();
        if (m_on_quit)
            m_on_quit();
        break;
    }
    return m_input_open;
}

void Console::drain()
{
    if (m_pending.empty())
        return;
    const std::size_t accepted = m_serial.push_input(m_pending);
    m_pending.erase(m_pending.begin(), m_pending.begin() + static_cast<std::ptrdiff_t>(accepted));
}

void Console::update_watch()
{
    // A full FIFO with bytes pending: stop polling input until the guest makes room (the
    // rx-space event), so a paste waits in the host instead of being lost.
    const bool want = m_input_open && m_pollable && m_pending.empty();
    if (want == m_watching)
        return;
    if (want)
        m_loop.add(m_fds.input, EPOLLIN, [this](std::uint32_t events) { on_input(events); });
    else
        m_loop.remove(m_fds.input);
    m_watching = want;
}

void Console::close_input()
{
    m_input_open = false;
}

} // namespace minivmm
