// NetSpec: one `--net tap=NAME[,mac=..][,mtu=..][,bw=..][,pps=..]` or
// `--net switch=NAME,vlan=ID[,mac=..]...` option, parsed (the device behind it is virtio-v1.2
// §5.1 "Network Device"); bad input is a UserError the user can fix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "devices/virtio/net/net_mac_address.hpp"
#include "vmm/limiter/rate_limit_config.hpp"

namespace minivmm::virtio {

enum class NetBackendKind {
    Tap,    // a host tap interface, opened (or created) by name
    Switch, // a port on a minivmm virtual switch; the VM layer resolves it to a tap
};

struct NetSpec {
    NetBackendKind kind = NetBackendKind::Tap;
    std::string name;                 // tap interface or switch name (a valid Linux ifname)
    std::optional<std::uint16_t> vlan; // switch only: 802.1Q VLAN ID 1..4094
    MacAddress mac;
    bool mac_generated = false;       // no mac= given: see parse_net_spec
    std::uint16_t mtu = 1500;         // virtio-v1.2 §5.1.4: config `mtu` (VIRTIO_NET_F_MTU), >= 68
    // bw=SIZE (bytes/s, parse_size units), burst=SIZE, pps=N (packets/s), pps-burst=N. The same
    // limit applies to each direction (transmitq and receiveq) separately.
    std::optional<limiter::RateLimitConfig> rate_limit;
    // id=NAME: the name in the control API and reports; empty = net0, net1, ... in order.
    std::string id;
    bool operator==(const NetSpec&) const = default;
};

// Keys: tap=NAME or switch=NAME (exactly one), vlan=ID (required with switch, refused with
// tap), mac=XX:XX:XX:XX:XX:XX (unicast, not all-zero), mtu=68..65535, bw=, burst=, pps=,
// pps-burst=, id=NAME (as --disk's id=). Each key at most once. Throws UserError naming the offending key or value.
//
// Without mac=, the MAC is generated (MacAddress::generate: 02 + 40 bits of an FNV-1a hash):
//  - tap=NAME: from "tap:NAME" alone, so a VM on the same tap gets the same MAC on every run
//    (DHCP leases and neighbour caches survive a restart); a tap is held by one VM at a time,
//    so its name already makes the address unique on the host.
//  - switch=NAME: from "switch:NAME:vlan:ID:pid:PID:nic:N" (N counts switch specs parsed in
//    this process), because several VMs -- and several NICs of one VM -- share a switch and
//    VLAN and must not collide. Unique per running VM and NIC, not stable across runs: give
//    mac= for that.
NetSpec parse_net_spec(std::string_view text);

} // namespace minivmm::virtio
