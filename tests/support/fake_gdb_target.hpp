// FakeGdbTarget: a gdb::GdbTarget without KVM for the stub's unit tests and fuzz target: a few
// vCPUs with plain register files, guest memory mapped only in [kMappedStart, kMappedEnd), and a
// record of every breakpoint, resume, detach and kill the session asked for.
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>
#include <vector>

#include "vmm/gdb/gdb_target.hpp"

namespace minivmm::testing {

class FakeGdbTarget : public gdb::GdbTarget {
public:
    static constexpr std::uint64_t kMappedStart = 0x1000;
    static constexpr std::uint64_t kMappedEnd = 0x3000;

    explicit FakeGdbTarget(unsigned vcpus = 2, gdb::CpuMode mode = gdb::CpuMode::Protected32)
        : registers(vcpus)
        , mode(mode)
        , memory(kMappedEnd - kMappedStart, 0)
    {
        for (unsigned i = 0; i < vcpus; ++i) {
            registers[i].gpr[0] = 0x1111'0000u + i; // rax / eax
            registers[i].rip = 0x1000 + i;
            registers[i].eflags = 0x202;
            registers[i].segments = {0x8, 0x10, 0x10, 0x10, 0x10, 0x10};
        }
    }

    unsigned vcpu_count() const override { return static_cast<unsigned>(registers.size()); }
    gdb::CpuMode cpu_mode(unsigned) override { return mode; }
    std::optional<gdb::X86Registers> read_registers(unsigned vcpu) override
    {
        if (vcpu >= registers.size())
            return std::nullopt;
        return registers[vcpu];
    }
    bool write_registers(unsigned vcpu, const gdb::X86Registers& r) override
    {
        if (vcpu >= registers.size() || refuse_writes)
            return false;
        registers[vcpu] = r;
        ++register_writes;
        return true;
    }
    std::size_t read_memory(unsigned, std::uint64_t address, std::span<std::uint8_t> out) override
    {
        const std::size_t n = mapped_run(address, out.size());
        if (n)
            std::memcpy(out.data(), memory.data() + (address - kMappedStart), n);
        return n;
    }
    std::size_t write_memory(unsigned, std::uint64_t address, std::span<const std::uint8_t> data) override
    {
        const std::size_t n = mapped_run(address, data.size());
        if (n)
            std::memcpy(memory.data() + (address - kMappedStart), data.data(), n);
        return n;
    }
    gdb::InsertResult insert_breakpoint(gdb::BreakpointType type, std::uint64_t address, std::uint64_t length) override
    {
        if (type == gdb::BreakpointType::ReadWatch)
            return gdb::InsertResult::Unsupported;
        if (type == gdb::BreakpointType::Software && !mapped_run(address, 1))
            return gdb::InsertResult::Error;
        breakpoints.emplace_back(type, address, length);
        return gdb::InsertResult::Ok;
    }
    gdb::InsertResult remove_breakpoint(gdb::BreakpointType type, std::uint64_t address, std::uint64_t length) override
    {
        std::erase(breakpoints, std::tuple {type, address, length});
        return gdb::InsertResult::Ok;
    }
    void resume(std::span<const gdb::ResumeAction> actions) override
    {
        resumes.emplace_back(actions.begin(), actions.end());
    }
    void detach() override { ++detaches; }
    void kill() override { ++kills; }
    gdb::StopEvent attach() override { return {gdb::StopEvent::Kind::Signal, 0, 5}; }
    int stop_event_fd() const override { return -1; }
    std::optional<gdb::StopEvent> take_stop() override { return std::nullopt; }
    void interrupt(unsigned) override { ++interrupts; }
    std::optional<gdb::StopEvent> ended() const override { return std::nullopt; }

    std::vector<gdb::X86Registers> registers;
    gdb::CpuMode mode;
    std::vector<std::uint8_t> memory; // guest addresses kMappedStart..kMappedEnd
    std::vector<std::tuple<gdb::BreakpointType, std::uint64_t, std::uint64_t>> breakpoints;
    std::vector<std::vector<gdb::ResumeAction>> resumes;
    unsigned register_writes = 0;
    bool refuse_writes = false; // as a CPU refusing a value (a bad selector, a CR combination)
    unsigned detaches = 0;
    unsigned kills = 0;
    unsigned interrupts = 0;

private:
    // How many bytes from `address` are mapped (a prefix of `length`).
    static std::size_t mapped_run(std::uint64_t address, std::size_t length)
    {
        if (address < kMappedStart || address >= kMappedEnd)
            return 0;
        return static_cast<std::size_t>(std::min<std::uint64_t>(length, kMappedEnd - address));
    }
};

} // namespace minivmm::testing
