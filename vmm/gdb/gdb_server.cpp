// The gdb thread (gdb_server.hpp; "Debugging with GDB" appendix E.1 "Overview", E.8
// "Interrupts", E.11 "Packet Acknowledgment").
#include "vmm/gdb/gdb_server.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/gdb/gdb_session.hpp"
#include "vmm/gdb/rsp_packet.hpp"

namespace minivmm::gdb {

namespace {
// How long a send may wait for gdb to read before the connection is dropped: a peer that stops
// reading must not hold the gdb thread (and the VM's end, which joins it) forever.
constexpr int kSendTimeoutMs = 5000;

class Connection {
public:
    explicit Connection(int fd) : m_fd(fd) {}
    // False when the peer is gone or did not read in time.
    bool send(std::string_view bytes)
    {
        while (!bytes.empty()) {
            const ssize_t sent = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (sent > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(sent));
                continue;
            }
            if (sent < 0 && errno == EINTR)
                continue;
            if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                pollfd out {m_fd, POLLOUT, 0};
                if (::poll(&out, 1, kSendTimeoutMs) <= 0)
                    return false;
                continue;
            }
            return false;
        }
        return true;
    }
    bool send_packet(std::string_view payload)
    {
        m_last_packet = frame_packet(payload);
        return send(m_last_packet);
    }
    bool resend() { return m_last_packet.empty() || send(m_last_packet); }

private:
    int m_fd;
    std::string m_last_packet; // E.11: what a '-' asks for again
};
} // namespace

GdbServer::GdbServer(GdbListener listener, GdbTarget& target)
    : m_listener(std::move(listener))
    , m_target(target)
{
}

void GdbServer::serve(std::stop_token stop)
{
    std::stop_callback wake_on_stop(stop, [this] { m_stop_wake.signal(); });
    while (!stop.stop_requested()) {
        pollfd fds[2] = {{m_listener.fd(), POLLIN, 0}, {m_stop_wake.fd(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            throw SysError("poll on the gdb socket");
        }
        if (stop.stop_requested() || !(fds[0].revents & POLLIN))
            continue;
        UniqueFd connection(::accept4(m_listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!connection)
            continue; // the peer went away before we took it: wait for the next
        serve_connection(connection.get(), stop);
    }
}

void GdbServer::serve_connection(int fd, std::stop_token stop)
{
    Connection connection(fd);
    if (m_target.ended())
        return; // nothing left to debug
    GdbSession session(m_target, m_target.attach());
    RspDecoder decoder;
    std::vector<RspEvent> events;
    bool running = false;
    bool acks = true;
    std::uint8_t buffer[4096];
    for (;;) {
        // The stop eventfd only while the guest runs: a vCPU may signal it after the stop gdb
        // already has (a second breakpoint hit while stopping), which must not spin this loop.
        pollfd fds[3] = {{fd, POLLIN, 0}, {m_stop_wake.fd(), POLLIN, 0}, {m_target.stop_event_fd(), POLLIN, 0}};
        if (::poll(fds, running ? 3 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            throw SysError("poll on the gdb connection");
        }
        if (const auto end = m_target.ended()) {
            // The VM ended (the guest's exit, a crash, a signal): a gdb waiting for a stop learns
            // how (E.4 `W`/`X`); one that was looking at a stopped machine just loses it.
            if (running)
                (void)connection.send_packet(session.stop_reply(*end));
            return;
        }
        if (stop.stop_requested())
            return;
        if (running && (fds[2].revents & POLLIN)) {
            if (const auto event = m_target.take_stop()) {
                running = false;
                if (!connection.send_packet(session.stop_reply(*event)))
                    break;
            }
        }
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0)
            break; // gdb is gone
        events.clear();
        decoder.feed(std::span(buffer, static_cast<std::size_t>(got)), events);
        bool close = false;
        for (const RspEvent& event : events) {
            if (std::holds_alternative<InterruptRequest>(event)) {
                if (running)
                    m_target.interrupt(session.current_vcpu());
            } else if (std::holds_alternative<NackReceived>(event)) {
                if (acks && !connection.resend())
                    close = true;
            } else if (const auto* rejected = std::get_if<PacketRejected>(&event)) {
                fmt::print(stderr, "minivmm: gdb: packet rejected: {}\n", rejected->why);
                if (acks && !connection.send("-"))
                    close = true;
            } else if (const auto* packet = std::get_if<PacketReceived>(&event)) {
                if (acks && !connection.send("+")) {
                    close = true;
                    break;
                }
                if (running)
                    continue; // all-stop: only Ctrl-C means something while the guest runs
                const GdbSession::Outcome outcome = session.handle(packet->payload);
                if (outcome.reply && !connection.send_packet(*outcome.reply))
                    close = true;
                // E.11: no-ack mode starts after the OK to QStartNoAckMode.
                acks = !session.no_ack_mode();
                running = outcome.resumed;
                if (outcome.end)
                    return;
            }
            if (close)
                break;
        }
        if (close)
            break;
    }
    // The connection broke or gdb left without `D`: detach all the same (the guest runs on).
    if (!m_target.ended())
        m_target.detach();
}

} // namespace minivmm::gdb
