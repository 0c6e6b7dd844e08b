// Payload tag and version (payload_header.hpp).
#include "vmm/snapshot/payload_header.hpp"

#include <fmt/format.h>

namespace minivmm::snapshot {
namespace {

std::string tag_text(std::uint32_t tag)
{
    std::string text;
    for (int i = 0; i < 4; ++i) {
        const auto c = static_cast<char>(tag >> (8 * i));
        text += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return text;
}

} // namespace

void write_payload_header(StateWriter& out, std::uint32_t tag, std::uint16_t version)
{
    out.u32(tag);
    out.u16(version);
}

void read_payload_header(StateReader& in, std::uint32_t tag, std::uint16_t version, std::string_view kind)
{
    const std::uint32_t found = in.u32();
    if (found != tag)
        in.fail(fmt::format("holds '{}' state, not the {} state ('{}') this device restores", tag_text(found), kind,
            tag_text(tag)));
    const std::uint16_t found_version = in.u16();
    if (found_version != version)
        in.fail(fmt::format("{} state layout {}; this minivmm reads layout {}", kind, found_version, version));
}

} // namespace minivmm::snapshot
