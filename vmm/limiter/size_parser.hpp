// parse_size: the byte sizes users type (--memory, --memory-limit, --memory-reserve, disk sizes,
// bw=...), shared by the limiter and the CLI.
#pragma once

#include <cstdint>
#include <string_view>

namespace minivmm::limiter {

// Grammar: DIGITS[.DIGITS][K|M|G|T][B|iB], suffix letters in either case. Units are binary
// (K = 1024, M = 1024^2, ...): "512M", "2G", "1.5G", "4096", "64KiB". A fraction is allowed with
// a unit and rounded down to whole bytes; a plain byte count must be whole. Throws UserError for
// an empty, negative, malformed or unknown-unit value and for one above 2^64 - 1 bytes.
std::uint64_t parse_size(std::string_view text);

} // namespace minivmm::limiter
