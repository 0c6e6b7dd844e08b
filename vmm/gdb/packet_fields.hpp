// Fields of RSP packets ("Debugging with GDB" appendix E.3 "Packets": numbers in hex, `addr,length`
// pairs) and the error replies the stub gives, shared by the packet interpreter's files.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "vmm/gdb/rsp_packet.hpp"

namespace minivmm::gdb::fields {

inline constexpr std::string_view kSyntaxError = "E01";
inline constexpr std::string_view kMemoryError = "E14"; // EFAULT, as gdbserver answers
inline constexpr std::string_view kHostError = "E05";

// 1..16 hex digits, nothing else.
inline std::optional<std::uint64_t> parse_hex(std::string_view text)
{
    if (text.empty() || text.size() > 16)
        return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : text) {
        int digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return std::nullopt;
        value = value << 4 | static_cast<unsigned>(digit);
    }
    return value;
}

// Splits "a<sep>b" at the first `sep`.
inline std::optional<std::pair<std::string_view, std::string_view>> split(std::string_view text, char sep)
{
    const auto at = text.find(sep);
    if (at == std::string_view::npos)
        return std::nullopt;
    return std::pair {text.substr(0, at), text.substr(at + 1)};
}

// "addr,length" into numbers.
inline std::optional<std::pair<std::uint64_t, std::uint64_t>> address_length(std::string_view text)
{
    const auto parts = split(text, ',');
    if (!parts)
        return std::nullopt;
    const auto address = parse_hex(parts->first);
    const auto length = parse_hex(parts->second);
    if (!address || !length)
        return std::nullopt;
    return std::pair {*address, *length};
}

inline bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// The most memory one `m` reply carries: two hex digits a byte within the packet size.
inline constexpr std::uint64_t kMaxMemoryReply = (kMaxPacketSize - 8) / 2;

} // namespace minivmm::gdb::fields
