// parse_net_spec: "--net tap=NAME,..." / "--net switch=NAME,vlan=ID,..." into a NetSpec
// (virtio-v1.2 §5.1.4 "Device configuration layout" for mac and mtu).
#include "devices/virtio/net/net_spec.hpp"

#include <net/if.h>
#include <unistd.h>

#include <atomic>
#include <charconv>

#include <fmt/format.h>

#include "vmm/base/device_id.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/size_parser.hpp"

namespace minivmm::virtio {
namespace {

constexpr std::string_view kForm = "expected tap=NAME[,mac=02:..][,mtu=N][,bw=SIZE][,pps=N][,id=NAME] or "
                                   "switch=NAME,vlan=ID[,mac=...]";

[[noreturn]] void reject(std::string_view why)
{
    throw UserError(fmt::format("--net: {} ({})", why, kForm));
}

// Linux dev_valid_name (net/core/dev.c): 1..IFNAMSIZ-1 bytes, not "." or "..", no '/', ':' or
// whitespace.
void check_ifname(std::string_view key, std::string_view name)
{
    if (name.empty() || name.size() >= IFNAMSIZ)
        reject(fmt::format("{}='{}' must be 1 to {} characters", key, name, IFNAMSIZ - 1));
    if (name == "." || name == "..")
        reject(fmt::format("{}='{}' is not a valid interface name", key, name));
    for (char c : name) {
        if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
            reject(fmt::format("{}='{}' is not a valid interface name (no '/', ':' or spaces)", key, name));
    }
}

std::uint64_t parse_count(std::string_view key, std::string_view value)
{
    std::uint64_t number = 0;
    const auto* end = value.data() + value.size();
    const auto [ptr, error] = std::from_chars(value.data(), end, number);
    if (value.empty() || error != std::errc{} || ptr != end)
        reject(fmt::format("{}={} is not a whole number", key, value));
    return number;
}

std::uint64_t parse_bytes(std::string_view key, std::string_view value)
{
    try {
        return limiter::parse_size(value);
    } catch (const UserError& error) {
        reject(fmt::format("{}={}: {}", key, value, error.what()));
    }
}

std::atomic<unsigned> g_switch_specs{0};

} // namespace

NetSpec parse_net_spec(std::string_view text)
{
    NetSpec spec;
    std::optional<std::string_view> tap, switch_name, vlan, mac, mtu, bw, burst, pps, pps_burst, id;
    if (text.empty())
        reject("the option is empty");
    std::string_view rest = text;
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        const auto equals = item.find('=');
        if (equals == std::string_view::npos)
            reject(fmt::format("'{}' is not key=value", item));
        const std::string_view key = item.substr(0, equals);
        const std::string_view value = item.substr(equals + 1);
        std::optional<std::string_view>* slot = nullptr;
        if (key == "tap")
            slot = &tap;
        else if (key == "switch")
            slot = &switch_name;
        else if (key == "vlan")
            slot = &vlan;
        else if (key == "mac")
            slot = &mac;
        else if (key == "mtu")
            slot = &mtu;
        else if (key == "bw")
            slot = &bw;
        else if (key == "burst")
            slot = &burst;
        else if (key == "pps")
            slot = &pps;
        else if (key == "pps-burst")
            slot = &pps_burst;
        else if (key == "id")
            slot = &id;
        else
            reject(fmt::format("unknown key '{}'", key));
        if (*slot)
            reject(fmt::format("'{}' is given twice", key));
        *slot = value;
        if (comma == std::string_view::npos)
            break;
        rest.remove_prefix(comma + 1);
    }

    if (id) {
        if (!valid_device_id(*id))
            reject(fmt::format("id='{}' must be 1 to 32 of A-Z a-z 0-9 _ -", *id));
        spec.id = *id;
    }
    if (tap && switch_name)
        reject("give either tap= or switch=, not both");
    if (!tap && !switch_name)
        reject("tap=NAME or switch=NAME is required");
    if (tap) {
        check_ifname("tap", *tap);
        spec.kind = NetBackendKind::Tap;
        spec.name = *tap;
        if (vlan)
            reject("vlan= applies to switch=, not to tap= (tag inside the guest instead)");
    } else {
        check_ifname("switch", *switch_name);
        spec.kind = NetBackendKind::Switch;
        spec.name = *switch_name;
        if (!vlan)
            reject(fmt::format("switch={} needs vlan=ID (1-4094)", *switch_name));
        // IEEE 802.1Q §9.6 (VLAN Tag Control Information): VIDs 0 and 4095 are reserved.
        const std::uint64_t id = parse_count("vlan", *vlan);
        if (id < 1 || id > 4094)
            reject(fmt::format("vlan={} is outside 1-4094", *vlan));
        spec.vlan = static_cast<std::uint16_t>(id);
    }

    if (mac) {
        auto parsed = MacAddress::parse(*mac);
        if (!parsed)
            reject(fmt::format("mac={} is not six hex pairs like 02:00:00:12:34:56", *mac));
        if (parsed->is_multicast())
            reject(fmt::format("mac={} is a multicast address (bit 0 of the first byte is set)", *mac));
        if (parsed->is_zero())
            reject("mac=00:00:00:00:00:00 is not a usable address");
        spec.mac = *parsed;
    } else if (spec.kind == NetBackendKind::Tap) {
        spec.mac = MacAddress::generate(fmt::format("tap:{}", spec.name));
        spec.mac_generated = true;
    } else {
        spec.mac = MacAddress::generate(fmt::format("switch:{}:vlan:{}:pid:{}:nic:{}", spec.name, *spec.vlan,
            ::getpid(), g_switch_specs.fetch_add(1)));
        spec.mac_generated = true;
    }

    if (mtu) {
        // virtio-v1.2 §5.1.4.1 (Device Requirements: Device configuration layout): "The device
        // MUST NOT set mtu to a value below 68" (the IPv4 minimum); it is a 16-bit field.
        const std::uint64_t value = parse_count("mtu", *mtu);
        if (value < 68 || value > 65535)
            reject(fmt::format("mtu={} is outside 68-65535", *mtu));
        spec.mtu = static_cast<std::uint16_t>(value);
    }

    if (burst && !bw)
        reject("burst= applies to bw=, which is not set");
    if (pps_burst && !pps)
        reject("pps-burst= applies to pps=, which is not set");
    if (bw || pps) {
        // Each bucket holds one second of its rate and starts full (as parse_rate_limit does).
        limiter::RateLimitConfig limit;
        if (bw) {
            const std::uint64_t rate = parse_bytes("bw", *bw);
            if (rate == 0 || rate > static_cast<std::uint64_t>(INT64_MAX))
                reject(fmt::format("bw={} must be above 0 and below 2^63", *bw));
            limit.bytes = limiter::BucketConfig{rate, rate, burst ? parse_bytes("burst", *burst) : 0};
        }
        if (pps) {
            const std::uint64_t rate = parse_count("pps", *pps);
            if (rate == 0 || rate > static_cast<std::uint64_t>(INT64_MAX))
                reject(fmt::format("pps={} must be above 0 and below 2^63", *pps));
            limit.ops = limiter::BucketConfig{rate, rate, pps_burst ? parse_count("pps-burst", *pps_burst) : 0};
        }
        spec.rate_limit = limit;
    }
    return spec;
}

} // namespace minivmm::virtio
