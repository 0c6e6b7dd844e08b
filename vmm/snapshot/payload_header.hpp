// The first bytes of every Snapshottable payload: a four-character tag naming the kind of state
// ("U550", "VMMI") and that kind's layout version. A vmstate section restored into the wrong
// kind of device (a config that no longer matches the snapshot), or written by another layout,
// is then one clear SnapshotError instead of fields read with the wrong meaning.
#pragma once

#include <cstdint>
#include <string_view>

#include "vmm/snapshot/state_reader.hpp"
#include "vmm/snapshot/state_writer.hpp"

namespace minivmm::snapshot {

// "U550" as the u32 the file holds (first character in the lowest byte: it reads as text in a
// hex dump).
constexpr std::uint32_t payload_tag(const char (&text)[5])
{
    return std::uint32_t(std::uint8_t(text[0])) | std::uint32_t(std::uint8_t(text[1])) << 8
        | std::uint32_t(std::uint8_t(text[2])) << 16 | std::uint32_t(std::uint8_t(text[3])) << 24;
}

void write_payload_header(StateWriter& out, std::uint32_t tag, std::uint16_t version);
// Throws SnapshotError unless the payload starts with `tag` and `version`; `kind` names the
// expected kind in the message ("16550 UART").
void read_payload_header(StateReader& in, std::uint32_t tag, std::uint16_t version, std::string_view kind);

} // namespace minivmm::snapshot
