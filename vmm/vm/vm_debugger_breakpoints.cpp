// gdb's breakpoints and watchpoints (`Z0`-`Z4`, vm_debugger.hpp) and the KVM_SET_GUEST_DEBUG
// state they become (Documentation/virt/kvm/api.rst 4.59; Intel SDM vol 3 §18.2 "Debug
// Registers"), plus the write watchpoints emulated by stepping where data breakpoints never fire.
#include "vmm/vm/vm_debugger.hpp"

#include <cstring>

#include <fmt/format.h>

#include "vmm/vm/debug_registers.hpp"
#include "vmm/vm/vcpu_runner.hpp"

namespace minivmm::vm {

using gdb::BreakpointType;
using gdb::InsertResult;

namespace {
constexpr std::uint8_t kInt3 = 0xcc;
// gdb is a network peer: its breakpoint table is bounded like everything else it sends.
constexpr std::size_t kMaxSoftwareBreakpoints = 4096;
} // namespace

kvm_guest_debug VmDebugger::guest_debug_for(Running running) const
{
    kvm_guest_debug debug {};
    if (!m_software.empty())
        debug.control |= KVM_GUESTDBG_USE_SW_BP;
    std::uint64_t dr7 = 0;
    for (unsigned slot = 0; slot < m_slots.size(); ++slot) {
        if (!m_slots[slot].used)
            continue;
        debug.arch.debugreg[slot] = m_slots[slot].address;
        dr7 |= dr7_slot_bits(slot, m_slots[slot].type, m_slots[slot].length);
    }
    if (dr7) {
        debug.control |= KVM_GUESTDBG_USE_HW_BP;
        debug.arch.debugreg[7] = dr7 | kDr7Reserved | kDr7Ge;
    }
    if (running == Running::Step || running == Running::WatchStep)
        debug.control |= KVM_GUESTDBG_SINGLESTEP;
    if (debug.control)
        debug.control |= KVM_GUESTDBG_ENABLE;
    return debug;
}

std::optional<std::uint64_t> VmDebugger::changed_watch(kvm::VcpuFd& vcpu)
{
    for (EmulatedWatch& watch : m_watches) {
        std::array<std::uint8_t, 8> now {};
        if (access_memory(vcpu, watch.address, std::span(now).first(watch.length), false) != watch.length)
            continue;
        if (std::memcmp(now.data(), watch.value.data(), watch.length) != 0) {
            watch.value = now;
            return watch.address;
        }
    }
    return std::nullopt;
}

void VmDebugger::refresh_watches()
{
    if (m_runners.empty())
        return;
    for (EmulatedWatch& watch : m_watches)
        (void)access_memory(vcpu_fd(0), watch.address, std::span(watch.value).first(watch.length), false);
}

gdb::InsertResult VmDebugger::insert_breakpoint(BreakpointType type, std::uint64_t address, std::uint64_t length)
{
    std::lock_guard lock(m_mutex);
    if (type == BreakpointType::Software) {
        if (m_software.contains(address))
            return InsertResult::Ok;
        if (m_software.size() >= kMaxSoftwareBreakpoints)
            return InsertResult::Error;
        std::uint64_t physical = 0;
        std::uint8_t original = 0;
        if (!vcpu_fd(0).translate(address, physical) || !m_memory.read(physical, std::span(&original, 1)))
            return InsertResult::Error;
        const std::uint8_t int3 = kInt3;
        if (!m_memory.write(physical, std::span(&int3, 1)))
            return InsertResult::Error;
        m_software.emplace(address, SoftwareBreakpoint {physical, original});
        return InsertResult::Ok;
    }
    if (type == BreakpointType::ReadWatch)
        return InsertResult::Unsupported; // x86 debug registers have no read-only condition (§18.2.4)
    const bool data = type != BreakpointType::Hardware;
    if (data && !m_host.data_breakpoints) {
        // Emulated by stepping: writes only, at most 8 bytes, at most 4 like the real thing.
        if (type != BreakpointType::WriteWatch)
            return InsertResult::Unsupported;
        if (length == 0 || length > 8 || m_watches.size() >= 4)
            return InsertResult::Error;
        EmulatedWatch watch {address, length};
        if (m_runners.empty() || access_memory(vcpu_fd(0), address, std::span(watch.value).first(length), false) != length)
            return InsertResult::Error;
        m_watches.push_back(watch);
        return InsertResult::Ok;
    }
    if (data && ((length != 1 && length != 2 && length != 4 && length != 8) || address % length != 0))
        return InsertResult::Error; // §18.2.5: a data breakpoint covers an aligned 1, 2, 4 or 8 bytes
    for (DebugRegisterSlot& slot : m_slots) {
        if (!slot.used) {
            slot = {true, type, address, data ? length : 1};
            return InsertResult::Ok;
        }
    }
    return InsertResult::Error; // all four debug registers in use
}

gdb::InsertResult VmDebugger::remove_breakpoint(BreakpointType type, std::uint64_t address, std::uint64_t length)
{
    std::lock_guard lock(m_mutex);
    if (type == BreakpointType::Software) {
        const auto found = m_software.find(address);
        if (found == m_software.end())
            return InsertResult::Ok;
        const std::uint8_t original = found->second.original;
        (void)m_memory.write(found->second.physical, std::span(&original, 1));
        m_software.erase(found);
        return InsertResult::Ok;
    }
    if (type == BreakpointType::ReadWatch)
        return InsertResult::Unsupported;
    if (type != BreakpointType::Hardware && !m_host.data_breakpoints) {
        if (type != BreakpointType::WriteWatch)
            return InsertResult::Unsupported;
        std::erase_if(m_watches, [&](const EmulatedWatch& w) { return w.address == address && w.length == length; });
        return InsertResult::Ok;
    }
    for (DebugRegisterSlot& slot : m_slots)
        if (slot.used && slot.type == type && slot.address == address)
            slot = {};
    return InsertResult::Ok;
}

} // namespace minivmm::vm
