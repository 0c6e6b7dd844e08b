// parse_netlink_ack / NetlinkError: the kernel's answer to a request, with the extended-ack
// message (netlink(7) "NETLINK_EXT_ACK", <linux/netlink.h> struct nlmsgerr).
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "vmm/net/netlink_ack.hpp"
#include "vmm/net/netlink_message.hpp"

using namespace minivmm::net;

namespace {
// An NLMSG_ERROR with `status`, echoing a request of `echoed_payload` bytes unless capped, then
// NLMSGERR_ATTR_MSG `text` when non-empty.
std::vector<std::uint8_t> error_message(int status, bool capped, std::size_t echoed_payload, const std::string& text)
{
    std::vector<std::uint8_t> bytes(NLMSG_HDRLEN + sizeof(nlmsgerr) + (capped ? 0 : NLMSG_ALIGN(echoed_payload)));
    nlmsgerr error {};
    error.error = status;
    error.msg.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + echoed_payload);
    error.msg.nlmsg_type = 16;
    std::memcpy(bytes.data() + NLMSG_HDRLEN, &error, sizeof error);
    std::uint16_t flags = capped ? NLM_F_CAPPED : 0;
    if (!text.empty()) {
        flags |= NLM_F_ACK_TLVS;
        const std::uint16_t length = static_cast<std::uint16_t>(NLA_HDRLEN + text.size() + 1);
        const std::size_t at = bytes.size();
        bytes.resize(at + NLA_ALIGN(length), 0);
        const nlattr header { .nla_len = length, .nla_type = NLMSGERR_ATTR_MSG };
        std::memcpy(bytes.data() + at, &header, sizeof header);
        std::memcpy(bytes.data() + at + NLA_HDRLEN, text.c_str(), text.size() + 1);
    }
    const nlmsghdr header { .nlmsg_len = static_cast<std::uint32_t>(bytes.size()),
        .nlmsg_type = NLMSG_ERROR,
        .nlmsg_flags = flags,
        .nlmsg_seq = 1,
        .nlmsg_pid = 0 };
    std::memcpy(bytes.data(), &header, sizeof header);
    return bytes;
}

const nlmsghdr& as_message(const std::vector<std::uint8_t>& bytes)
{
    return *reinterpret_cast<const nlmsghdr*>(bytes.data());
}
} // namespace

TEST_CASE("netlink(7): an NLMSG_ERROR with status 0 is an ack", "[net]")
{
    const auto bytes = error_message(0, true, 0, "");
    const auto ack = parse_netlink_ack(as_message(bytes));
    REQUIRE(ack);
    CHECK(ack->error == 0);
    CHECK(ack->message.empty());
}

TEST_CASE("netlink(7) NETLINK_EXT_ACK: a capped refusal carries the errno and NLMSGERR_ATTR_MSG", "[net]")
{
    const auto bytes = error_message(-EOPNOTSUPP, true, 40, "Unknown device type");
    const auto ack = parse_netlink_ack(as_message(bytes));
    REQUIRE(ack);
    CHECK(ack->error == EOPNOTSUPP);
    CHECK(ack->message == "Unknown device type");
}

TEST_CASE("netlink(7): without NLM_F_CAPPED the echoed request sits before the extack TLVs", "[net]")
{
    const auto bytes = error_message(-EEXIST, false, 38, "Device already exists");
    const auto ack = parse_netlink_ack(as_message(bytes));
    REQUIRE(ack);
    CHECK(ack->error == EEXIST);
    CHECK(ack->message == "Device already exists");
}

TEST_CASE("netlink(7): a refusal without extack keeps the errno and an empty message", "[net]")
{
    const auto bytes = error_message(-EPERM, true, 0, "");
    const auto ack = parse_netlink_ack(as_message(bytes));
    REQUIRE(ack);
    CHECK(ack->error == EPERM);
    CHECK(ack->message.empty());
}

TEST_CASE("netlink(7): an error message too short for its status is not an ack", "[net]")
{
    auto bytes = error_message(-EPERM, true, 0, "");
    reinterpret_cast<nlmsghdr*>(bytes.data())->nlmsg_len = NLMSG_HDRLEN + 2;
    CHECK_FALSE(parse_netlink_ack(as_message(bytes)));
}

TEST_CASE("a NetlinkError reads as one line: what was asked, the errno text and the kernel's reason", "[net]")
{
    const NetlinkError error(
        "creating switch sw0", NetlinkAck { .error = EOPNOTSUPP, .message = "Unknown device type" });
    CHECK(error.error() == EOPNOTSUPP);
    CHECK(std::string(error.what()) == "creating switch sw0: Operation not supported (kernel: Unknown device type)");
    const NetlinkError plain("deleting switch sw0", NetlinkAck { .error = ENODEV, .message = "" });
    CHECK(std::string(plain.what()) == "deleting switch sw0: No such device");
}
