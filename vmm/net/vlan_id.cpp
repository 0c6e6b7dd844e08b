#include "vmm/net/vlan_id.hpp"

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::net {

std::optional<VlanId> VlanId::from(long value)
{
    if (value < kMin || value > kMax)
        return std::nullopt;
    return VlanId(static_cast<std::uint16_t>(value));
}

VlanId VlanId::from_user(long value, std::string_view option)
{
    if (auto id = from(value))
        return *id;
    throw UserError(
        fmt::format("{} {}: a VLAN id is {}..{} (IEEE 802.1Q reserves 0 and 4095)", option, value, kMin, kMax));
}

} // namespace minivmm::net
