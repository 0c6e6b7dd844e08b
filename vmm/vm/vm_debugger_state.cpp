// The gdb stub's view of a parked vCPU (vm_debugger.hpp): its mode, and guest-virtual memory
// through its page tables (KVM_TRANSLATE). Registers: vm_debugger_registers.cpp.
#include "vmm/vm/vm_debugger.hpp"

#include <cstring>

#include <fmt/format.h>

#include "vmm/vm/vcpu_runner.hpp"

namespace minivmm::vm {

namespace {
constexpr std::uint64_t kPageSize = 4096;
constexpr std::uint64_t kEferLma = 1u << 10; // Intel SDM vol 3 §2.2.1 "Extended Feature Enable Register"
constexpr std::uint8_t kInt3 = 0xcc;
} // namespace

gdb::CpuMode VmDebugger::cpu_mode(unsigned vcpu)
{
    if (m_architecture == DebugArchitecture::Always64)
        return gdb::CpuMode::Long64;
    try {
        return (vcpu_fd(vcpu).get_sregs().efer & kEferLma) ? gdb::CpuMode::Long64 : gdb::CpuMode::Protected32;
    } catch (const std::exception&) {
        return gdb::CpuMode::Protected32;
    }
}

std::size_t VmDebugger::access_memory(kvm::VcpuFd& vcpu, std::uint64_t address, std::span<std::uint8_t> buffer, bool write)
{
    // Page by page through the vCPU's own translation (KVM_TRANSLATE honours its CR3 and paging
    // mode), so every page is checked on its own and a range stops at the first unmapped one.
    std::size_t done = 0;
    while (done < buffer.size()) {
        const std::uint64_t linear = address + done;
        if (linear < address)
            break; // wrapped around the address space
        const std::size_t chunk = std::min<std::uint64_t>(buffer.size() - done, kPageSize - (linear % kPageSize));
        std::uint64_t physical = 0;
        if (!vcpu.translate(linear, physical))
            break;
        const auto part = buffer.subspan(done, chunk);
        if (!(write ? m_memory.write(physical, part) : m_memory.read(physical, part)))
            break;
        done += chunk;
    }
    return done;
}

std::size_t VmDebugger::read_memory(unsigned vcpu, std::uint64_t address, std::span<std::uint8_t> out)
{
    if (vcpu >= vcpu_count())
        return 0;
    const std::size_t got = access_memory(vcpu_fd(vcpu), address, out, false);
    // Our int3s are invisible to gdb: it sees the bytes it would have without them.
    std::lock_guard lock(m_mutex);
    for (const auto& [linear, breakpoint] : m_software)
        if (linear >= address && linear - address < got)
            out[linear - address] = breakpoint.original;
    return got;
}

std::size_t VmDebugger::write_memory(unsigned vcpu, std::uint64_t address, std::span<const std::uint8_t> data)
{
    if (vcpu >= vcpu_count())
        return 0;
    std::vector<std::uint8_t> copy(data.begin(), data.end());
    std::lock_guard lock(m_mutex);
    // A write over one of our int3s changes what it restores, and the int3 stays.
    for (auto& [linear, breakpoint] : m_software) {
        if (linear >= address && linear - address < copy.size()) {
            breakpoint.original = copy[linear - address];
            copy[linear - address] = kInt3;
        }
    }
    const std::size_t written = access_memory(vcpu_fd(vcpu), address, copy, true);
    refresh_watches();
    return written;
}

} // namespace minivmm::vm
