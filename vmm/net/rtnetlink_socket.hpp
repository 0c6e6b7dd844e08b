// RtnetlinkSocket: an owned NETLINK_ROUTE socket (libmnl) that sends one request at a time and
// matches the kernel's replies to it by sequence number and port id: an acked request, or a dump
// read to NLMSG_DONE (rtnetlink(7); netlink(7) "NLM_F_ACK", "NLM_F_DUMP", "NETLINK_EXT_ACK").
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "vmm/net/netlink_message.hpp"

namespace minivmm::net {

class RtnetlinkSocket {
public:
    // Opens and binds the socket, with extended acks (the kernel's reason for a refusal) and
    // capped acks (the error does not echo the request). Throws SysError.
    RtnetlinkSocket();

    // Sends `request` with NLM_F_ACK and the next sequence number, and waits for its ack, passing
    // any reply before it (a GET's answer) to `on_reply`. A refusal throws NetlinkError (errno +
    // extack text), with `what` naming the request.
    void request(
        NetlinkMessage& request, std::string_view what, const std::function<void(const nlmsghdr&)>& on_reply = {});

    // Sends `request` with NLM_F_DUMP and calls `on_message` for every reply until NLMSG_DONE.
    void dump(NetlinkMessage& request, std::string_view what, const std::function<void(const nlmsghdr&)>& on_message);

private:
    struct Closer {
        void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
    };
    void send(NetlinkMessage& request, std::string_view what);
    // Reads replies to the last request until its ack or NLMSG_DONE, passing every other reply to
    // `on_message` (a dump) when there is one.
    void receive(std::string_view what, const std::function<void(const nlmsghdr&)>* on_message);

    std::unique_ptr<mnl_socket, Closer> m_socket;
    std::uint32_t m_port_id = 0;
    std::uint32_t m_sequence = 0;
};

} // namespace minivmm::net
