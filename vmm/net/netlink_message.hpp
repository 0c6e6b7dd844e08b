// NetlinkMessage: builds one netlink request (header, family header, TLV attributes and nests)
// in an owned buffer through libmnl (RFC 3549 §2.3 "Message Format"; netlink(7)).
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace minivmm::net {

class NetlinkMessage {
public:
    // A request of `type` (e.g. RTM_NEWLINK) with `flags` besides NLM_F_REQUEST, followed by a
    // zeroed family header of `family_header_size` bytes (e.g. an ifinfomsg; see family_header<T>()).
    NetlinkMessage(std::uint16_t type, std::uint16_t flags, std::size_t family_header_size);

    NetlinkMessage(NetlinkMessage&&) = default;
    NetlinkMessage& operator=(NetlinkMessage&&) = default;
    NetlinkMessage(const NetlinkMessage&) = delete;
    NetlinkMessage& operator=(const NetlinkMessage&) = delete;

    [[nodiscard]] nlmsghdr& header() { return *reinterpret_cast<nlmsghdr*>(m_buffer.data()); }
    [[nodiscard]] const nlmsghdr& header() const { return *reinterpret_cast<const nlmsghdr*>(m_buffer.data()); }
    template<typename T> [[nodiscard]] T& family_header() { return *static_cast<T*>(mnl_nlmsg_get_payload(&header())); }

    void put_u8(std::uint16_t type, std::uint8_t value);
    void put_u16(std::uint16_t type, std::uint16_t value);
    void put_u32(std::uint16_t type, std::uint32_t value);
    // A NUL-terminated string (the kernel's NLA_STRING/NLA_NUL_STRING both accept it).
    void put_string(std::uint16_t type, std::string_view value);
    void put_bytes(std::uint16_t type, const void* data, std::size_t size);
    template<typename T> void put_struct(std::uint16_t type, const T& value) { put_bytes(type, &value, sizeof value); }
    // Opens a nested attribute; close it with end_nest() (nests may nest).
    void begin_nest(std::uint16_t type);
    void end_nest();

    // The finished message: exactly header().nlmsg_len bytes.
    [[nodiscard]] std::span<const std::uint8_t> bytes() const;

private:
    void check(bool fits);

    std::vector<std::uint8_t> m_buffer;
    std::vector<std::size_t> m_open_nests; // byte offsets of the nests begin_nest() opened
};

} // namespace minivmm::net
