// The Remote Serial Protocol's framing (rsp_packet.hpp; "Debugging with GDB", appendix E.1
// "Overview" and E.8 "Interrupts").
#include "vmm/gdb/rsp_packet.hpp"

#include <fmt/format.h>

namespace minivmm::gdb {

namespace {
int hex_value(std::uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

constexpr char kHexDigits[] = "0123456789abcdef";
} // namespace

void RspDecoder::feed(std::span<const std::uint8_t> bytes, std::vector<RspEvent>& events)
{
    for (const std::uint8_t byte : bytes) {
        switch (m_state) {
        case State::Idle:
            if (byte == '$') {
                m_state = State::Data;
                m_raw.clear();
                m_sum = 0;
                m_too_long = false;
            } else if (byte == 0x03) {
                events.emplace_back(InterruptRequest {});
            } else if (byte == '+') {
                events.emplace_back(AckReceived {});
            } else if (byte == '-') {
                events.emplace_back(NackReceived {});
            }
            break;
        case State::Data:
            // E.1: `#` ends the data. A correct peer never sends a raw `#` inside a packet (binary
            // data escapes it as `}` 0x03), so even a `#` after a `}` ends it: a broken escape
            // costs one packet (an error reply), never the packets after it.
            if (byte == '#') {
                m_state = State::Checksum1;
                break;
            }
            m_sum = static_cast<std::uint8_t>(m_sum + byte);
            if (m_raw.size() < kMaxPacketSize)
                m_raw.push_back(static_cast<char>(byte));
            else
                m_too_long = true; // keep counting to the '#', so the stream stays in step
            break;
        case State::Checksum1:
            if (hex_value(byte) < 0) {
                events.emplace_back(PacketRejected {"a checksum digit that is not hex"});
                m_state = State::Idle;
                break;
            }
            m_checksum = static_cast<std::uint8_t>(hex_value(byte) << 4);
            m_state = State::Checksum2;
            break;
        case State::Checksum2:
            m_state = State::Idle;
            if (hex_value(byte) < 0) {
                events.emplace_back(PacketRejected {"a checksum digit that is not hex"});
                break;
            }
            m_checksum = static_cast<std::uint8_t>(m_checksum | hex_value(byte));
            finish(events);
            break;
        }
    }
}

void RspDecoder::finish(std::vector<RspEvent>& events)
{
    if (m_too_long) {
        events.emplace_back(PacketRejected {fmt::format("a packet longer than {} bytes", kMaxPacketSize)});
        return;
    }
    if (m_checksum != m_sum) {
        events.emplace_back(PacketRejected {fmt::format("checksum {:02x}, the data sums to {:02x}", m_checksum, m_sum)});
        return;
    }
    auto expanded = expand_run_length(m_raw);
    if (!expanded) {
        events.emplace_back(PacketRejected {"a broken run-length sequence"});
        return;
    }
    events.emplace_back(PacketReceived {std::move(*expanded)});
}

std::optional<std::string> expand_run_length(std::string_view raw, std::size_t limit)
{
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '}') { // an escape and its byte are data, never a run
            const std::size_t length = i + 1 < raw.size() ? 2 : 1; // a `}` at the end: the command's to refuse
            if (out.size() + length > limit)
                return std::nullopt;
            out.append(raw.substr(i, length));
            i += length - 1;
            continue;
        }
        if (c != '*') {
            if (out.size() + 1 > limit)
                return std::nullopt;
            out.push_back(c);
            continue;
        }
        // E.1: "the printable character ... is the repeat count plus 29"; `#` and `$` cannot be
        // counts, and a run needs a character before it to repeat.
        if (out.empty() || i + 1 >= raw.size())
            return std::nullopt;
        const auto count_char = static_cast<unsigned char>(raw[++i]);
        if (count_char < 29 + 3 || count_char > 126 || count_char == '#' || count_char == '$')
            return std::nullopt;
        const std::size_t repeat = count_char - 29u;
        if (out.size() + repeat > limit)
            return std::nullopt;
        out.append(repeat, out.back());
    }
    return out;
}

std::optional<std::string> unescape_binary(std::string_view data)
{
    std::string out;
    out.reserve(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (data[i] != '}') {
            out.push_back(data[i]);
            continue;
        }
        if (++i >= data.size())
            return std::nullopt;
        out.push_back(static_cast<char>(data[i] ^ 0x20));
    }
    return out;
}

std::string escape_binary(std::string_view data)
{
    std::string out;
    out.reserve(data.size());
    for (const char c : data) {
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            out.push_back('}');
            out.push_back(static_cast<char>(c ^ 0x20));
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string frame_packet(std::string_view payload)
{
    std::uint8_t sum = 0;
    for (const char c : payload)
        sum = static_cast<std::uint8_t>(sum + static_cast<std::uint8_t>(c));
    std::string out;
    out.reserve(payload.size() + 4);
    out.push_back('$');
    out.append(payload);
    out.push_back('#');
    out.push_back(kHexDigits[sum >> 4]);
    out.push_back(kHexDigits[sum & 0xf]);
    return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes)
{
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const std::uint8_t b : bytes) {
        out.push_back(kHexDigits[b >> 4]);
        out.push_back(kHexDigits[b & 0xf]);
    }
    return out;
}

std::string to_hex(std::string_view text)
{
    return to_hex(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex)
{
    if (hex.size() % 2 != 0)
        return std::nullopt;
    std::vector<std::uint8_t> out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int high = hex_value(static_cast<std::uint8_t>(hex[i]));
        const int low = hex_value(static_cast<std::uint8_t>(hex[i + 1]));
        if (high < 0 || low < 0)
            return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(high << 4 | low));
    }
    return out;
}

} // namespace minivmm::gdb
