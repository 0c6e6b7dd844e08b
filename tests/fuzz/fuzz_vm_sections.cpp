// libFuzzer target: the vmstate sections the VM itself writes and `run --restore` reads
// (vmm/vm/machine_config.hpp, vmm/vm/kvm_state_sections.hpp) and the I/O gate's section
// (vmm/vm/rate_limit_gate.hpp). The input's first byte picks the reader, the rest is the payload
// (seeds: the sections of real snapshots). fuzz_vmstate covers the file around them and the
// devices' sections.
//
// Invariants: a reader either throws SnapshotError or returns a value that the matching writer
// turns back into exactly the payload it read (nothing read that was not checked, nothing
// ignored); the gate either refuses the payload or takes it and saves again without a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "vmm/base/event_loop.hpp"
#include "vmm/vm/kvm_state_sections.hpp"
#include "vmm/vm/machine_config.hpp"
#include "vmm/vm/rate_limit_gate.hpp"

using namespace minivmm;
using namespace minivmm::vm;
using snapshot::SnapshotError;
using snapshot::StateReader;
using snapshot::StateWriter;

namespace {
template<typename Read, typename Write>
void round_trip(std::span<const std::uint8_t> payload, Read read, Write write)
{
    StateReader in(payload, "fuzz");
    try {
        auto value = read(in);
        StateWriter out;
        write(out, value);
        if (out.data().size() != payload.size() || !std::equal(payload.begin(), payload.end(), out.data().begin()))
            std::abort(); // read something the writer would not have written
    } catch (const SnapshotError&) {
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::span<const std::uint8_t> payload(data + 1, size - 1);
    switch (data[0] % 6) {
    case 0:
        round_trip(payload, [](StateReader& in) { return read_machine_config(in); }, write_machine_config);
        break;
    case 1:
        round_trip(payload, [](StateReader& in) { return read_vcpu_section(in); }, write_vcpu_section);
        break;
    case 2:
        round_trip(payload, [](StateReader& in) { return read_irqchip_section(in); }, write_irqchip_section);
        break;
    case 3:
        round_trip(payload, [](StateReader& in) { return read_pit_section(in); }, write_pit_section);
        break;
    case 4:
        round_trip(payload, [](StateReader& in) { return read_clock_section(in); }, write_clock_section);
        break;
    case 5: {
        EventLoop loop;
        RateLimitGate gate(limiter::RateLimitConfig {}, loop);
        try {
            StateReader in(payload, "fuzz");
            gate.restore_state(in);
            StateWriter out;
            gate.save_state(out);
            (void)gate.admit(0, 4096);
        } catch (const SnapshotError&) {
        }
        break;
    }
    }
    return 0;
}
