// NetlinkAck: the outcome the kernel reports for one request in an NLMSG_ERROR message: an errno
// and, with NETLINK_EXT_ACK, the extended-ack message (netlink(7) "NETLINK_EXT_ACK";
// <linux/netlink.h> struct nlmsgerr, NLMSGERR_ATTR_MSG).
#pragma once

#include <linux/netlink.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "vmm/base/sys_error.hpp"

namespace minivmm::net {

struct NetlinkAck {
    int error = 0; // a positive errno, or 0 for success
    std::string message; // the kernel's extack text (NLMSGERR_ATTR_MSG), or empty
};

// Reads an NLMSG_ERROR (or an NLMSG_DONE that carries an int status, for dumps); std::nullopt
// when `message` is too short to hold what it claims.
std::optional<NetlinkAck> parse_netlink_ack(const nlmsghdr& message);

// A request the kernel refused: a SysError (errno + what was asked) with the extack text appended,
// "create bridge sw0: Operation not supported (kernel: ...)".
class NetlinkError : public SysError {
public:
    NetlinkError(std::string_view what, const NetlinkAck& ack);
    [[nodiscard]] const std::string& kernel_message() const { return m_kernel_message; }
    [[nodiscard]] const char* what() const noexcept override { return m_text.c_str(); }

private:
    std::string m_kernel_message;
    std::string m_text;
};

} // namespace minivmm::net
