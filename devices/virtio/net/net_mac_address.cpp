// MacAddress parsing, printing and generation (virtio-v1.2 §5.1.4 "Device configuration
// layout"; IEEE 802 address bits for "locally administered unicast").
#include "devices/virtio/net/net_mac_address.hpp"

#include <fmt/format.h>

namespace minivmm::virtio {
namespace {

std::optional<std::uint8_t> hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return static_cast<std::uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f')
        return static_cast<std::uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return static_cast<std::uint8_t>(c - 'A' + 10);
    return std::nullopt;
}

// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3): tiny, stable across
// platforms and runs, good enough to spread names over 40 bits.
std::uint64_t fnv1a64(std::string_view text)
{
    std::uint64_t hash = 0xcbf2'9ce4'8422'2325ull;
    for (char c : text) {
        hash ^= static_cast<std::uint8_t>(c);
        hash *= 0x100'0000'01b3ull;
    }
    return hash;
}

} // namespace

std::string MacAddress::to_string() const
{
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2], bytes[3],
        bytes[4], bytes[5]);
}

std::optional<MacAddress> MacAddress::parse(std::string_view text)
{
    // "xx:xx:xx:xx:xx:xx": 6 pairs and 5 colons.
    if (text.size() != 17)
        return std::nullopt;
    MacAddress mac;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::size_t at = 3 * i;
        if (i > 0 && text[at - 1] != ':')
            return std::nullopt;
        auto high = hex_digit(text[at]);
        auto low = hex_digit(text[at + 1]);
        if (!high || !low)
            return std::nullopt;
        mac.bytes[i] = static_cast<std::uint8_t>(*high << 4 | *low);
    }
    return mac;
}

MacAddress MacAddress::generate(std::string_view seed)
{
    const std::uint64_t hash = fnv1a64(seed);
    MacAddress mac;
    mac.bytes[0] = 0x02; // locally administered (bit 1), unicast (bit 0 clear)
    for (std::size_t i = 1; i < 6; ++i)
        mac.bytes[i] = static_cast<std::uint8_t>(hash >> (8 * (i - 1)));
    return mac;
}

} // namespace minivmm::virtio
