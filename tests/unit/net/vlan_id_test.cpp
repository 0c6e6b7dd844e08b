// VlanId and interface names: the values the kernel and IEEE 802.1Q accept.
#include <catch2/catch.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/net/interface_name.hpp"
#include "vmm/net/vlan_id.hpp"

using namespace minivmm;
using namespace minivmm::net;

TEST_CASE("IEEE 802.1Q Table 9-2: VLAN ids 1..4094 are usable, 0 and 4095 are reserved", "[net]")
{
    CHECK(VlanId::from(1)->value() == 1);
    CHECK(VlanId::from(4094)->value() == 4094);
    CHECK_FALSE(VlanId::from(0));
    CHECK_FALSE(VlanId::from(4095));
    CHECK_FALSE(VlanId::from(4096));
    CHECK_FALSE(VlanId::from(-1));
    CHECK_FALSE(VlanId::from(65536 + 10)); // would wrap to 10 in 16 bits
}

TEST_CASE("a reserved VLAN id from the user is one UserError line naming the option", "[net]")
{
    CHECK_THROWS_WITH(
        VlanId::from_user(4095, "--vlan"), "--vlan 4095: a VLAN id is 1..4094 (IEEE 802.1Q reserves 0 and 4095)");
    CHECK_THROWS_AS(VlanId::from_user(0, "--vlan"), UserError);
    CHECK(VlanId::from_user(42, "--vlan").value() == 42);
}

TEST_CASE("netdevice(7): an interface name is 1..IFNAMSIZ-1 characters without '/', ':' or spaces", "[net]")
{
    CHECK_NOTHROW(check_interface_name("sw0", "switch name"));
    CHECK_NOTHROW(check_interface_name("abcdefghijklmno", "switch name")); // 15: the longest
    CHECK_THROWS_WITH(check_interface_name("abcdefghijklmnop", "switch name"),
        "switch name 'abcdefghijklmnop' is 16 characters: an interface name is at most 15 (IFNAMSIZ)");
    CHECK_THROWS_WITH(check_interface_name("", "switch name"), "switch name is empty");
    CHECK_THROWS_AS(check_interface_name("a/b", "port name"), UserError);
    CHECK_THROWS_AS(check_interface_name("a:b", "port name"), UserError);
    CHECK_THROWS_AS(check_interface_name("a b", "port name"), UserError);
    CHECK_THROWS_AS(check_interface_name("..", "port name"), UserError);
}
