// The Remote Serial Protocol's framing ("Debugging with GDB" appendix E.1 "Overview", E.8
// "Interrupts"): checksums, escapes, run-length encoding and bounds against a hostile peer.
#include <catch2/catch.hpp>

#include <string>

#include "vmm/gdb/rsp_packet.hpp"

using namespace minivmm::gdb;

namespace {
std::vector<RspEvent> decode(std::string_view bytes)
{
    RspDecoder decoder;
    std::vector<RspEvent> events;
    decoder.feed(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), events);
    return events;
}

std::string payload_of(const RspEvent& event)
{
    REQUIRE(std::holds_alternative<PacketReceived>(event));
    return std::get<PacketReceived>(event).payload;
}
} // namespace

TEST_CASE("E.1: a packet with a good checksum is received", "[gdb]")
{
    // 'g' is 0x67.
    const auto events = decode("$g#67");
    REQUIRE(events.size() == 1);
    CHECK(payload_of(events[0]) == "g");
    CHECK(frame_packet("g") == "$g#67");
    CHECK(frame_packet("") == "$#00");
    CHECK(frame_packet("OK") == "$OK#9a");
}

TEST_CASE("E.1: a wrong checksum or a non-hex checksum digit rejects the packet", "[gdb]")
{
    auto events = decode("$g#68");
    REQUIRE(events.size() == 1);
    CHECK(std::holds_alternative<PacketRejected>(events[0]));
    events = decode("$g#6x$g#67");
    REQUIRE(events.size() == 2);
    CHECK(std::holds_alternative<PacketRejected>(events[0]));
    CHECK(payload_of(events[1]) == "g"); // the stream stays in step
}

TEST_CASE("E.1: acks, nacks and line noise between packets; E.8: a bare 0x03 is an interrupt", "[gdb]")
{
    const auto events = decode(std::string("+noise-\x03$?#3f", 13));
    REQUIRE(events.size() == 4);
    CHECK(std::holds_alternative<AckReceived>(events[0]));
    CHECK(std::holds_alternative<NackReceived>(events[1]));
    CHECK(std::holds_alternative<InterruptRequest>(events[2]));
    CHECK(payload_of(events[3]) == "?");
}

TEST_CASE("E.1: a packet split across reads is received once whole", "[gdb]")
{
    RspDecoder decoder;
    std::vector<RspEvent> events;
    const std::string bytes = frame_packet("qSupported:swbreak+");
    for (const char c : bytes)
        decoder.feed(std::span(reinterpret_cast<const std::uint8_t*>(&c), 1), events);
    REQUIRE(events.size() == 1);
    CHECK(payload_of(events[0]) == "qSupported:swbreak+");
}

TEST_CASE("E.1: an escaped '#' inside a packet is data, and binary escapes decode with XOR 0x20", "[gdb]")
{
    // X packet data: '#' (0x23) is sent as '}' 0x03, '}' as '}' ']', '*' as '}' '\n'.
    const std::string escaped = escape_binary(std::string("a#}*$b", 6));
    CHECK(escaped == std::string("a}\x03}]}\x0a}\x04" "b", 10));
    const auto events = decode(frame_packet("X1000,6:" + escaped));
    REQUIRE(events.size() == 1);
    const std::string payload = payload_of(events[0]);
    CHECK(unescape_binary(payload.substr(8)) == std::string("a#}*$b", 6));
    CHECK_FALSE(unescape_binary("abc}").has_value()); // an escape with nothing after it
}

TEST_CASE("E.1: a '}' right before '#' still ends the packet, so the next packet is not swallowed", "[gdb]")
{
    const auto events = decode(frame_packet("X1000,1:}") + frame_packet("g"));
    REQUIRE(events.size() == 2);
    CHECK(payload_of(events[0]) == "X1000,1:}"); // the command refuses the broken escape
    CHECK(payload_of(events[1]) == "g");
}

TEST_CASE("E.1: run-length encoding expands, bounded and validated", "[gdb]")
{
    // "0* " is '0' plus (' ' - 29) = 3 more: "0000".
    CHECK(expand_run_length("0* ") == "0000");
    CHECK(expand_run_length("a*\"b") == "aaaaaab");     // '"' = 34: 5 more
    CHECK(expand_run_length("x}*") == "x}*");            // an escaped byte is never a run
    CHECK_FALSE(expand_run_length("*!").has_value());    // nothing to repeat
    CHECK_FALSE(expand_run_length("a*").has_value());    // no count
    CHECK_FALSE(expand_run_length("a*\x10").has_value()); // count below the printable range
    CHECK_FALSE(expand_run_length("a*~", 10).has_value()); // beyond the limit (126 - 29 = 97 more)
    const auto events = decode(frame_packet("m0,4*!"));
    REQUIRE(events.size() == 1);
    CHECK(payload_of(events[0]) == "m0,44444"); // '!' = 33: 4 more
}

TEST_CASE("E.1: a packet over the announced PacketSize is rejected, and the next one still decodes", "[gdb]")
{
    std::string huge(kMaxPacketSize + 10, 'a');
    const auto events = decode(frame_packet(huge) + frame_packet("g"));
    REQUIRE(events.size() == 2);
    CHECK(std::holds_alternative<PacketRejected>(events[0]));
    CHECK(payload_of(events[1]) == "g");
}

TEST_CASE("hex helpers round-trip and refuse odd or non-hex input", "[gdb]")
{
    const std::vector<std::uint8_t> bytes {0x00, 0x7f, 0xab, 0xff};
    CHECK(to_hex(bytes) == "007fabff");
    CHECK(from_hex("007FabFF") == bytes);
    CHECK_FALSE(from_hex("abc").has_value());
    CHECK_FALSE(from_hex("zz").has_value());
    CHECK(to_hex(std::string_view("vCPU 0")) == "764350552030");
}
