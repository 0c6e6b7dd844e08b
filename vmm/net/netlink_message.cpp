#include "vmm/net/netlink_message.hpp"

#include <cassert>
#include <stdexcept>
#include <string>

namespace minivmm::net {

namespace {
// Requests here are a name, a few integers and a nest or two: far below a page.
constexpr std::size_t kRequestBufferSize = 4096;
} // namespace

NetlinkMessage::NetlinkMessage(std::uint16_t type, std::uint16_t flags, std::size_t family_header_size)
    : m_buffer(kRequestBufferSize, 0)
{
    nlmsghdr* message = mnl_nlmsg_put_header(m_buffer.data());
    message->nlmsg_type = type;
    message->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    mnl_nlmsg_put_extra_header(message, family_header_size);
}

void NetlinkMessage::check(bool fits)
{
    // Every request is built from bounded inputs (names checked against IFNAMSIZ): overflowing the
    // buffer is our bug, not the user's.
    if (!fits)
        throw std::length_error("netlink request larger than its buffer");
}

void NetlinkMessage::put_u8(std::uint16_t type, std::uint8_t value)
{
    check(mnl_attr_put_u8_check(&header(), m_buffer.size(), type, value));
}

void NetlinkMessage::put_u16(std::uint16_t type, std::uint16_t value)
{
    check(mnl_attr_put_u16_check(&header(), m_buffer.size(), type, value));
}

void NetlinkMessage::put_u32(std::uint16_t type, std::uint32_t value)
{
    check(mnl_attr_put_u32_check(&header(), m_buffer.size(), type, value));
}

void NetlinkMessage::put_string(std::uint16_t type, std::string_view value)
{
    const std::string terminated(value);
    check(mnl_attr_put_strz_check(&header(), m_buffer.size(), type, terminated.c_str()));
}

void NetlinkMessage::put_bytes(std::uint16_t type, const void* data, std::size_t size)
{
    check(mnl_attr_put_check(&header(), m_buffer.size(), type, size, data));
}

void NetlinkMessage::begin_nest(std::uint16_t type)
{
    nlattr* nest = mnl_attr_nest_start_check(&header(), m_buffer.size(), type);
    check(nest != nullptr);
    m_open_nests.push_back(static_cast<std::size_t>(reinterpret_cast<std::uint8_t*>(nest) - m_buffer.data()));
}

void NetlinkMessage::end_nest()
{
    assert(!m_open_nests.empty());
    auto* nest = reinterpret_cast<nlattr*>(m_buffer.data() + m_open_nests.back());
    m_open_nests.pop_back();
    mnl_attr_nest_end(&header(), nest);
}

std::span<const std::uint8_t> NetlinkMessage::bytes() const
{
    assert(m_open_nests.empty());
    return { m_buffer.data(), header().nlmsg_len };
}

} // namespace minivmm::net
