#include "vmm/net/netlink_ack.hpp"

#include <fmt/format.h>
#include <libmnl/libmnl.h>

#include <cstring>

#include "vmm/net/netlink_attributes.hpp"

namespace minivmm::net {

std::optional<NetlinkAck> parse_netlink_ack(const nlmsghdr& message)
{
    if (message.nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(int))
        return std::nullopt;
    const auto* payload = static_cast<const char*>(mnl_nlmsg_get_payload(&message));
    const std::size_t payload_size = message.nlmsg_len - MNL_NLMSG_HDRLEN;
    int status = 0;
    std::memcpy(&status, payload, sizeof status);
    NetlinkAck ack { .error = -status, .message = {} };
    if (message.nlmsg_type != NLMSG_ERROR || !(message.nlmsg_flags & NLM_F_ACK_TLVS))
        return ack;

    // netlink(7): struct nlmsgerr holds the status and the request's header; the request's payload
    // follows unless NLM_F_CAPPED (NETLINK_CAP_ACK); the extack TLVs come after that.
    if (payload_size < sizeof(nlmsgerr))
        return std::nullopt;
    nlmsgerr error;
    std::memcpy(&error, payload, sizeof error);
    std::size_t offset = sizeof(nlmsgerr);
    if (!(message.nlmsg_flags & NLM_F_CAPPED) && error.msg.nlmsg_len >= sizeof(nlmsghdr))
        offset += MNL_ALIGN(error.msg.nlmsg_len - sizeof(nlmsghdr));
    if (offset > payload_size)
        return ack; // TLVs promised but not there: keep the errno
    const NetlinkAttributes tlvs(payload + offset, payload_size - offset);
    if (auto text = tlvs.str(NLMSGERR_ATTR_MSG))
        ack.message = std::move(*text);
    return ack;
}

NetlinkError::NetlinkError(std::string_view what, const NetlinkAck& ack)
    : SysError(what, ack.error)
    , m_kernel_message(ack.message)
    , m_text(ack.message.empty() ? std::string(SysError::what())
                                 : fmt::format("{} (kernel: {})", SysError::what(), ack.message))
{
}

} // namespace minivmm::net
