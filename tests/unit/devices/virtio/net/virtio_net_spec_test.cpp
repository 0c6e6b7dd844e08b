// Tests for NetSpec and MacAddress: the --net option (virtio-v1.2 §5.1.4 "Device configuration
// layout" for mac and mtu) and the generated locally administered unicast MAC.
#include <catch2/catch.hpp>

#include "devices/virtio/net/net_spec.hpp"
#include "vmm/base/sys_error.hpp"

using namespace minivmm;
using namespace minivmm::virtio;

TEST_CASE("MacAddress: parse and to_string round-trip; malformed text is refused")
{
    auto mac = MacAddress::parse("02:1A:2b:3c:4D:5e");
    REQUIRE(mac.has_value());
    CHECK(mac->bytes == std::array<std::uint8_t, 6>{0x02, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e});
    CHECK(mac->to_string() == "02:1a:2b:3c:4d:5e");
    CHECK_FALSE(MacAddress::parse("02:1a:2b:3c:4d"));
    CHECK_FALSE(MacAddress::parse("02-1a-2b-3c-4d-5e"));
    CHECK_FALSE(MacAddress::parse("02:1a:2b:3c:4d:5g"));
    CHECK_FALSE(MacAddress::parse("02:1a:2b:3c:4d:5e:"));
}

TEST_CASE("--net tap: a generated MAC is locally administered unicast and stable for the tap name")
{
    const NetSpec first = parse_net_spec("tap=tap0");
    const NetSpec again = parse_net_spec("tap=tap0");
    const NetSpec other = parse_net_spec("tap=tap1");
    CHECK(first.kind == NetBackendKind::Tap);
    CHECK(first.name == "tap0");
    CHECK(first.mac_generated);
    CHECK(first.mac.bytes[0] == 0x02);
    CHECK(first.mac.is_locally_administered());
    CHECK_FALSE(first.mac.is_multicast());
    CHECK(first.mac == again.mac);
    CHECK(first.mac != other.mac);
    CHECK(first.mac == MacAddress::generate("tap:tap0"));
    CHECK(first.mtu == 1500);
    CHECK_FALSE(first.rate_limit.has_value());
    CHECK_FALSE(first.vlan.has_value());
}

TEST_CASE("--net tap: mac, mtu, bw, burst, pps and pps-burst are parsed")
{
    const NetSpec spec = parse_net_spec("tap=vm0,mac=02:00:00:aa:bb:cc,mtu=9000,bw=10M,burst=1M,pps=5000,pps-burst=100");
    CHECK(spec.mac.to_string() == "02:00:00:aa:bb:cc");
    CHECK_FALSE(spec.mac_generated);
    CHECK(spec.mtu == 9000);
    REQUIRE(spec.rate_limit.has_value());
    REQUIRE(spec.rate_limit->bytes.has_value());
    CHECK(spec.rate_limit->bytes->rate == 10 * 1024 * 1024);
    CHECK(spec.rate_limit->bytes->capacity == 10 * 1024 * 1024);
    CHECK(spec.rate_limit->bytes->one_time_burst == 1024 * 1024);
    REQUIRE(spec.rate_limit->ops.has_value());
    CHECK(spec.rate_limit->ops->rate == 5000);
    CHECK(spec.rate_limit->ops->one_time_burst == 100);
    const NetSpec pps_only = parse_net_spec("tap=vm0,pps=10");
    REQUIRE(pps_only.rate_limit.has_value());
    CHECK_FALSE(pps_only.rate_limit->bytes.has_value());
}

TEST_CASE("--net switch: vlan is required and 1-4094; generated MACs differ per NIC")
{
    const NetSpec a = parse_net_spec("switch=br-lab,vlan=10");
    const NetSpec b = parse_net_spec("switch=br-lab,vlan=10");
    CHECK(a.kind == NetBackendKind::Switch);
    CHECK(a.name == "br-lab");
    CHECK(a.vlan == std::optional<std::uint16_t>(10));
    CHECK(a.mac_generated);
    CHECK(a.mac.bytes[0] == 0x02);
    CHECK(a.mac != b.mac);
    CHECK(parse_net_spec("switch=s,vlan=4094,mac=02:00:00:00:00:01").mac.to_string() == "02:00:00:00:00:01");
    CHECK_THROWS_WITH(parse_net_spec("switch=s"), Catch::Contains("needs vlan=ID"));
    CHECK_THROWS_AS(parse_net_spec("switch=s,vlan=0"), UserError);
    CHECK_THROWS_AS(parse_net_spec("switch=s,vlan=4095"), UserError);
    CHECK_THROWS_AS(parse_net_spec("switch=s,vlan=ten"), UserError);
}

TEST_CASE("--net: bad keys and values are UserErrors naming what is wrong")
{
    CHECK_THROWS_WITH(parse_net_spec("tap=t,color=red"), Catch::Contains("unknown key 'color'"));
    CHECK_THROWS_WITH(parse_net_spec("tap=t,tap=u"), Catch::Contains("given twice"));
    CHECK_THROWS_WITH(parse_net_spec("tap=t,switch=s,vlan=1"), Catch::Contains("not both"));
    CHECK_THROWS_WITH(parse_net_spec("mac=02:00:00:00:00:01"), Catch::Contains("required"));
    CHECK_THROWS_WITH(parse_net_spec("tap=t,vlan=5"), Catch::Contains("vlan= applies to switch="));
    CHECK_THROWS_WITH(parse_net_spec("tap=t,mac=03:00:00:00:00:01"), Catch::Contains("multicast"));
    CHECK_THROWS_AS(parse_net_spec("tap=t,mac=00:00:00:00:00:00"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,mac=nonsense"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,mtu=67"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,mtu=65536"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,mtu=1500x"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,burst=1M"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,pps-burst=5"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,pps=0"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,bw=fast"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=0123456789abcdef"), UserError); // 16 > IFNAMSIZ - 1
    CHECK_THROWS_AS(parse_net_spec("tap=a/b"), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap="), UserError);
    CHECK_THROWS_AS(parse_net_spec("tap=t,bare"), UserError);
    CHECK_THROWS_AS(parse_net_spec(""), UserError);
}
