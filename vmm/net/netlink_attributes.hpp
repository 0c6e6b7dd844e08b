// NetlinkAttributes: a read-only, bounds-checked view of the TLV attributes of one netlink message
// or nested attribute (RFC 3549 §2.3.2 "Attributes"; netlink(7), rtnetlink(7)).
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minivmm::net {

class NetlinkAttributes {
public:
    // The attributes after the `header_size` bytes of family header (e.g. ifinfomsg) in `message`.
    NetlinkAttributes(const nlmsghdr& message, std::size_t header_size);
    // The attributes nested in `nest`.
    explicit NetlinkAttributes(const nlattr& nest);
    // The attributes in [data, data + size): e.g. the TLVs after an ack's nlmsgerr.
    NetlinkAttributes(const void* data, std::size_t size);

    // The first attribute of `type` (the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits ignored).
    [[nodiscard]] const nlattr* find(std::uint16_t type) const;
    // Every attribute of `type`, in order (e.g. repeated IFLA_BRIDGE_VLAN_INFO).
    [[nodiscard]] std::vector<const nlattr*> all(std::uint16_t type) const;

    // Typed reads: std::nullopt when the attribute is absent or its payload has the wrong size.
    [[nodiscard]] std::optional<std::uint8_t> u8(std::uint16_t type) const;
    [[nodiscard]] std::optional<std::uint16_t> u16(std::uint16_t type) const;
    [[nodiscard]] std::optional<std::uint32_t> u32(std::uint16_t type) const;
    // A string attribute, up to its first NUL (netlink strings are NUL-terminated, NLA_NUL_STRING).
    [[nodiscard]] std::optional<std::string> str(std::uint16_t type) const;
    [[nodiscard]] std::optional<NetlinkAttributes> nested(std::uint16_t type) const;

private:
    const char* m_begin = nullptr;
    std::size_t m_size = 0;
};

// The payload of `attribute` as a T, when it is at least sizeof(T) bytes; copied (no alignment
// assumption about the payload).
template<typename T> std::optional<T> attribute_as(const nlattr* attribute)
{
    if (!attribute || mnl_attr_get_payload_len(attribute) < sizeof(T))
        return std::nullopt;
    T value;
    __builtin_memcpy(&value, mnl_attr_get_payload(attribute), sizeof(T));
    return value;
}

} // namespace minivmm::net
