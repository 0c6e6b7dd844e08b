#include "vmm/net/rtnetlink_socket.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <ctime>
#include <vector>

#include "vmm/base/sys_error.hpp"
#include "vmm/net/netlink_ack.hpp"

namespace minivmm::net {

namespace {
// A dump reply holds many links (each with its VLAN list): read it in 32 KiB datagrams, the size
// libmnl and iproute2 use for dumps (MNL_SOCKET_DUMP_SIZE).
constexpr std::size_t kReceiveBufferSize = 32768;

void enable_option(mnl_socket* socket, int option)
{
    int on = 1;
    // Kernels older than 4.12 lack NETLINK_EXT_ACK: a refusal then carries only the errno.
    (void)mnl_socket_setsockopt(socket, option, &on, sizeof on);
}
} // namespace

RtnetlinkSocket::RtnetlinkSocket()
    : m_socket(mnl_socket_open(NETLINK_ROUTE))
{
    if (!m_socket)
        throw SysError("open rtnetlink socket");
    if (mnl_socket_bind(m_socket.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        throw SysError("bind rtnetlink socket");
    m_port_id = mnl_socket_get_portid(m_socket.get());
    enable_option(m_socket.get(), NETLINK_EXT_ACK);
    enable_option(m_socket.get(), NETLINK_CAP_ACK);
    m_sequence = static_cast<std::uint32_t>(std::time(nullptr));
}

void RtnetlinkSocket::send(NetlinkMessage& request, std::string_view what)
{
    request.header().nlmsg_seq = ++m_sequence;
    request.header().nlmsg_pid = 0; // to the kernel
    const auto bytes = request.bytes();
    if (mnl_socket_sendto(m_socket.get(), bytes.data(), bytes.size()) < 0)
        throw SysError(fmt::format("{}: send rtnetlink request", what));
}

void RtnetlinkSocket::request(
    NetlinkMessage& request, std::string_view what, const std::function<void(const nlmsghdr&)>& on_reply)
{
    request.header().nlmsg_flags |= NLM_F_ACK;
    send(request, what);
    receive(what, on_reply ? &on_reply : nullptr);
}

void RtnetlinkSocket::dump(
    NetlinkMessage& request, std::string_view what, const std::function<void(const nlmsghdr&)>& on_message)
{
    request.header().nlmsg_flags |= NLM_F_DUMP;
    send(request, what);
    receive(what, &on_message);
}

void RtnetlinkSocket::receive(std::string_view what, const std::function<void(const nlmsghdr&)>* on_message)
{
    std::vector<std::uint8_t> buffer(kReceiveBufferSize);
    for (;;) {
        const ssize_t received = mnl_socket_recvfrom(m_socket.get(), buffer.data(), buffer.size());
        if (received < 0) {
            if (errno == EINTR)
                continue;
            throw SysError(fmt::format("{}: receive rtnetlink reply", what));
        }
        int left = static_cast<int>(received);
        auto* message = reinterpret_cast<const nlmsghdr*>(buffer.data());
        for (; mnl_nlmsg_ok(message, left); message = mnl_nlmsg_next(message, &left)) {
            // Replies to another request (or another socket's broadcast) are not ours.
            if (!mnl_nlmsg_portid_ok(message, m_port_id) || !mnl_nlmsg_seq_ok(message, m_sequence))
                continue;
            if (message->nlmsg_type == NLMSG_ERROR || message->nlmsg_type == NLMSG_DONE) {
                const auto ack = parse_netlink_ack(*message);
                if (!ack && message->nlmsg_type == NLMSG_DONE)
                    return; // a bare NLMSG_DONE (no status) still ends the dump
                if (!ack)
                    throw SysError(fmt::format("{}: truncated rtnetlink ack", what), EPROTO);
                if (ack->error != 0)
                    throw NetlinkError(what, *ack);
                // NLMSG_DONE ends a dump; an NLMSG_ERROR with status 0 acks a request.
                return;
            }
            if (message->nlmsg_type == NLMSG_NOOP || message->nlmsg_type < NLMSG_MIN_TYPE)
                continue;
            if (on_message)
                (*on_message)(*message);
        }
    }
}

} // namespace minivmm::net
