// VlanId and the VLAN membership of a bridge port: a VLAN identifier is 12 bits, of which 0 (no
// VLAN, priority tag only) and 4095 (reserved) are not usable (IEEE 802.1Q-2018 §9.6 "VLAN Tag
// Control Information", Table 9-2); <linux/if_bridge.h> struct bridge_vlan_info flags.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string_view>

namespace minivmm::net {

class VlanId {
public:
    static constexpr std::uint16_t kMin = 1;
    static constexpr std::uint16_t kMax = 4094;

    // std::nullopt for 0, 4095 and anything that does not fit in 12 bits.
    static std::optional<VlanId> from(long value);
    // As from(), but a bad value throws UserError naming `option` ("--vlan 4095: ...").
    static VlanId from_user(long value, std::string_view option);

    [[nodiscard]] std::uint16_t value() const { return m_value; }
    auto operator<=>(const VlanId&) const = default;

private:
    explicit VlanId(std::uint16_t value)
        : m_value(value)
    {
    }
    std::uint16_t m_value;
};

// How a port carries a VLAN. Untagged: the port's PVID (untagged ingress frames join this VLAN)
// and egress frames leave untagged: an "access" port, what a VM's tap wants. Tagged: frames of
// this VLAN cross the port with their 802.1Q tag: a "trunk" port that may carry several VLANs.
enum class VlanMode { Untagged, Tagged };

// One VLAN of one bridge port, as the kernel reports it (IFLA_BRIDGE_VLAN_INFO).
struct PortVlan {
    std::uint16_t vid = 0;
    bool pvid = false; // BRIDGE_VLAN_INFO_PVID: untagged ingress joins this VLAN
    bool untagged = false; // BRIDGE_VLAN_INFO_UNTAGGED: egress leaves untagged
    bool operator==(const PortVlan&) const = default;
};

} // namespace minivmm::net
