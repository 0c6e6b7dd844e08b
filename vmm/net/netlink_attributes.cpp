#include "vmm/net/netlink_attributes.hpp"

#include <cstring>

namespace minivmm::net {

namespace {
constexpr std::uint16_t kTypeMask = static_cast<std::uint16_t>(NLA_TYPE_MASK); // drops NESTED/BYTEORDER
}

NetlinkAttributes::NetlinkAttributes(const nlmsghdr& message, std::size_t header_size)
{
    const std::size_t offset = MNL_ALIGN(header_size);
    const std::size_t payload = message.nlmsg_len >= MNL_NLMSG_HDRLEN ? message.nlmsg_len - MNL_NLMSG_HDRLEN : 0;
    if (payload < offset)
        return; // a truncated message: no attributes
    m_begin = static_cast<const char*>(mnl_nlmsg_get_payload(&message)) + offset;
    m_size = payload - offset;
}

NetlinkAttributes::NetlinkAttributes(const nlattr& nest)
    : m_begin(static_cast<const char*>(mnl_attr_get_payload(&nest)))
    , m_size(mnl_attr_get_payload_len(&nest))
{
}

NetlinkAttributes::NetlinkAttributes(const void* data, std::size_t size)
    : m_begin(static_cast<const char*>(data))
    , m_size(size)
{
}

std::vector<const nlattr*> NetlinkAttributes::all(std::uint16_t type) const
{
    std::vector<const nlattr*> found;
    const char* cursor = m_begin;
    const char* const end = m_begin + m_size;
    // mnl_attr_ok checks that the header and the attribute's whole length fit in what is left.
    while (cursor && mnl_attr_ok(reinterpret_cast<const nlattr*>(cursor), static_cast<int>(end - cursor))) {
        const auto* attribute = reinterpret_cast<const nlattr*>(cursor);
        if ((attribute->nla_type & kTypeMask) == type)
            found.push_back(attribute);
        cursor = reinterpret_cast<const char*>(mnl_attr_next(attribute));
        if (cursor > end)
            break;
    }
    return found;
}

const nlattr* NetlinkAttributes::find(std::uint16_t type) const
{
    const auto found = all(type);
    return found.empty() ? nullptr : found.front();
}

std::optional<std::uint8_t> NetlinkAttributes::u8(std::uint16_t type) const
{
    return attribute_as<std::uint8_t>(find(type));
}

std::optional<std::uint16_t> NetlinkAttributes::u16(std::uint16_t type) const
{
    return attribute_as<std::uint16_t>(find(type));
}

std::optional<std::uint32_t> NetlinkAttributes::u32(std::uint16_t type) const
{
    return attribute_as<std::uint32_t>(find(type));
}

std::optional<std::string> NetlinkAttributes::str(std::uint16_t type) const
{
    const nlattr* attribute = find(type);
    if (!attribute)
        return std::nullopt;
    const auto* text = static_cast<const char*>(mnl_attr_get_payload(attribute));
    const std::size_t size = mnl_attr_get_payload_len(attribute);
    return std::string(text, ::strnlen(text, size));
}

std::optional<NetlinkAttributes> NetlinkAttributes::nested(std::uint16_t type) const
{
    const nlattr* attribute = find(type);
    if (!attribute)
        return std::nullopt;
    return NetlinkAttributes(*attribute);
}

} // namespace minivmm::net
