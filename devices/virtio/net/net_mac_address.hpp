// MacAddress: the 48-bit Ethernet address virtio-net reports in its config space
// (virtio-v1.2 §5.1.4 "Device configuration layout": `mac`, valid with VIRTIO_NET_F_MAC),
// parsed from "02:00:00:aa:bb:cc" or generated as a locally administered unicast address.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace minivmm::virtio {

struct MacAddress {
    std::array<std::uint8_t, 6> bytes{};

    // IEEE 802-2014 §8.2 (Address components): bit 0 of the first octet marks a group
    // (multicast) address, bit 1 a locally administered one.
    [[nodiscard]] bool is_multicast() const { return bytes[0] & 0x01; }
    [[nodiscard]] bool is_locally_administered() const { return bytes[0] & 0x02; }
    [[nodiscard]] bool is_zero() const { return bytes == std::array<std::uint8_t, 6>{}; }
    // "02:1a:2b:3c:4d:5e" (lower-case hex).
    [[nodiscard]] std::string to_string() const;
    bool operator==(const MacAddress&) const = default;

    // Six colon-separated pairs of hex digits; std::nullopt for anything else.
    static std::optional<MacAddress> parse(std::string_view text);
    // A locally administered unicast address derived from `seed` alone (02 followed by 40 bits
    // of the seed's FNV-1a 64-bit hash), so the same seed gives the same address in every run.
    static MacAddress generate(std::string_view seed);
};

} // namespace minivmm::virtio
