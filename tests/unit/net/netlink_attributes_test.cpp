// NetlinkAttributes: bounds-checked reads of netlink TLVs (RFC 3549 §2.3.2 "Attributes").
#include <linux/rtnetlink.h>

#include <catch2/catch.hpp>

#include "vmm/net/netlink_attributes.hpp"
#include "vmm/net/netlink_message.hpp"

using namespace minivmm::net;

TEST_CASE("RFC 3549 §2.3.2: a typed read of an attribute with the wrong payload size is absent", "[net]")
{
    NetlinkMessage message(RTM_NEWLINK, 0, sizeof(ifinfomsg));
    message.put_u8(IFLA_MASTER, 3); // IFLA_MASTER is a u32: one byte is not one
    message.put_u32(IFLA_MTU, 1500);
    const NetlinkAttributes attributes(message.header(), sizeof(ifinfomsg));
    CHECK_FALSE(attributes.u32(IFLA_MASTER));
    CHECK(attributes.u32(IFLA_MTU) == 1500u);
    CHECK_FALSE(attributes.u32(IFLA_TXQLEN));
}

TEST_CASE("RFC 3549 §2.3.2: repeated attributes are all found, in order", "[net]")
{
    NetlinkMessage message(RTM_NEWLINK, 0, sizeof(ifinfomsg));
    message.put_u16(IFLA_MTU, 1);
    message.put_u32(IFLA_MASTER, 9);
    message.put_u16(IFLA_MTU, 2);
    const NetlinkAttributes attributes(message.header(), sizeof(ifinfomsg));
    const auto found = attributes.all(IFLA_MTU);
    REQUIRE(found.size() == 2);
    CHECK(attribute_as<std::uint16_t>(found[1]) == std::uint16_t(2));
}

TEST_CASE("netlink(7): a string attribute without its NUL is read to the payload's end", "[net]")
{
    NetlinkMessage message(RTM_NEWLINK, 0, sizeof(ifinfomsg));
    message.put_bytes(IFLA_IFNAME, "eth0", 4);
    const NetlinkAttributes attributes(message.header(), sizeof(ifinfomsg));
    CHECK(attributes.str(IFLA_IFNAME) == "eth0");
}

TEST_CASE("a message shorter than its family header has no attributes", "[net]")
{
    NetlinkMessage message(RTM_NEWLINK, 0, sizeof(ifinfomsg));
    message.put_u32(IFLA_MTU, 1500);
    message.header().nlmsg_len = NLMSG_HDRLEN + 8;
    const NetlinkAttributes attributes(message.header(), sizeof(ifinfomsg));
    CHECK_FALSE(attributes.find(IFLA_MTU));
}
