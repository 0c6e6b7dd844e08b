// libFuzzer target: the gdb stub's packet path as a network peer drives it ("Debugging with
// GDB" appendix E.1 framing into the E.3 packet interpreter), against a fake target. Input:
// byte 0 picks the CPU mode (i386 / x86-64) and how the stream is cut into reads; the rest is
// the byte stream from "gdb". Every reply must fit the announced PacketSize and survive framing
// unchanged (an unescaped `#`, `$`, `}` or `*` in a reply would corrupt the stream).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tests/support/fake_gdb_target.hpp"
#include "vmm/gdb/gdb_session.hpp"
#include "vmm/gdb/rsp_packet.hpp"

using namespace minivmm::gdb;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const CpuMode mode = (data[0] & 1) ? CpuMode::Long64 : CpuMode::Protected32;
    const std::size_t chunk = 1 + (data[0] >> 1); // 1..128 bytes per read
    minivmm::testing::FakeGdbTarget target(2, mode);
    GdbSession session(target, StopEvent {StopEvent::Kind::Signal, 0, 5});
    RspDecoder decoder;
    std::vector<RspEvent> events;
    for (std::size_t at = 1; at < size; at += chunk) {
        events.clear();
        decoder.feed(std::span(data + at, std::min(chunk, size - at)), events);
        for (const RspEvent& event : events) {
            const auto* packet = std::get_if<PacketReceived>(&event);
            if (!packet)
                continue;
            if (packet->payload.size() > kMaxPacketSize)
                std::abort();
            const GdbSession::Outcome outcome = session.handle(packet->payload);
            if (!outcome.reply)
                continue;
            if (outcome.reply->size() > kMaxPacketSize)
                std::abort();
            RspDecoder check;
            std::vector<RspEvent> echoed;
            const std::string framed = frame_packet(*outcome.reply);
            check.feed(std::span(reinterpret_cast<const std::uint8_t*>(framed.data()), framed.size()), echoed);
            if (echoed.size() != 1 || !std::holds_alternative<PacketReceived>(echoed[0])
                || std::get<PacketReceived>(echoed[0]).payload != *outcome.reply)
                std::abort();
        }
    }
    return 0;
}
