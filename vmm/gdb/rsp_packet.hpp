// RspPacket: the GDB Remote Serial Protocol's framing, both ways ("Debugging with GDB", appendix
// E.1 "Overview": `$data#cs`, the modulo-256 checksum, `+`/`-` acknowledgments, `}` escapes and
// run-length encoding; E.8 "Interrupts": a bare 0x03 byte). The peer is a network client: every
// length is bounded and every malformed frame is reported, never trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace minivmm::gdb {

// The largest packet accepted or sent (the `PacketSize` minivmm announces in qSupported), in
// bytes between `$` and `#`, after run-length expansion.
inline constexpr std::size_t kMaxPacketSize = 0x4000;

struct PacketReceived { // a whole packet with a good checksum, run-length encoding expanded
    std::string payload; // binary escapes still in place (only X data and qXfer carry them)
};
struct PacketRejected { // a bad checksum, an over-long packet or a broken run-length sequence
    std::string why;
};
struct InterruptRequest {}; // E.8: the 0x03 byte outside a packet
struct AckReceived {};      // '+'
struct NackReceived {};     // '-': resend the last packet

using RspEvent = std::variant<PacketReceived, PacketRejected, InterruptRequest, AckReceived, NackReceived>;

// Turns the byte stream from gdb into events. Bytes outside a packet that are none of `$`, `+`,
// `-`, 0x03 are ignored (E.1: gdb may send line noise), so a peer cannot wedge the decoder.
class RspDecoder {
public:
    // Decodes `bytes` and appends what they complete to `events`.
    void feed(std::span<const std::uint8_t> bytes, std::vector<RspEvent>& events);

private:
    enum class State { Idle, Data, Checksum1, Checksum2 };
    void finish(std::vector<RspEvent>& events);
    State m_state = State::Idle;
    std::string m_raw;      // between '$' and '#', as received
    bool m_too_long = false;
    std::uint8_t m_sum = 0; // of the raw bytes
    std::uint8_t m_checksum = 0;
};

// E.1: expands `X*N` (N = the count character - 29 further copies of X). Escaped bytes (`}` and
// the byte after it) are copied as they are. nullopt for a '*' with nothing before it, a count
// character out of range, or an expansion beyond `limit` bytes.
std::optional<std::string> expand_run_length(std::string_view raw, std::size_t limit = kMaxPacketSize);

// E.1 binary data: `}` followed by the byte XOR 0x20. nullopt for a `}` at the end.
std::optional<std::string> unescape_binary(std::string_view data);
// Escapes `$`, `#`, `}` and `*` so that `data` can be sent inside a packet.
std::string escape_binary(std::string_view data);

// `$payload#cs`, escaping nothing: the payload must already be safe (escape_binary for binary).
std::string frame_packet(std::string_view payload);

// Lower-case hex of each byte, and back (nullopt for an odd length or a non-hex digit).
std::string to_hex(std::span<const std::uint8_t> bytes);
std::string to_hex(std::string_view text);
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);

} // namespace minivmm::gdb
