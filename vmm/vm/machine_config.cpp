// MachineConfig (machine_config.hpp): its vmstate section and its way back to a VmConfig.
#include "vmm/vm/machine_config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "devices/virtio/blk/disk_spec.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/vm/virtio_mmio_slot.hpp"

namespace minivmm::vm {

namespace {
constexpr std::uint16_t kMachineLayout = 1;
constexpr std::size_t kMaxPath = 4096;
constexpr std::size_t kMaxSpec = 8192;
constexpr std::size_t kMaxCmdline = layout::kCmdlineMaxSize;
constexpr std::uint32_t kMaxRamRanges = 8;

void write_double(snapshot::StateWriter& out, double value) { out.u64(std::bit_cast<std::uint64_t>(value)); }

// The size of a disk image: a regular file's length, or a block device's (BLKGETSIZE64 is not
// needed: lseek to the end gives it for both).
std::uint64_t image_size(const std::string& path, const std::string& id)
{
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file)
        throw UserError(fmt::format("disk {}: {}: {}", id, path, std::strerror(errno)));
    struct stat status {};
    if (::fstat(file.get(), &status) != 0)
        throw SysError(fmt::format("disk {}: fstat {}", id, path));
    if (!S_ISREG(status.st_mode) && !S_ISBLK(status.st_mode))
        throw UserError(fmt::format("disk {}: {} is not a regular file or block device", id, path));
    const off_t end = ::lseek(file.get(), 0, SEEK_END);
    if (end < 0)
        throw SysError(fmt::format("disk {}: lseek {}", id, path));
    return static_cast<std::uint64_t>(end);
}
} // namespace

std::uint64_t MachineConfig::ram_bytes() const
{
    std::uint64_t total = 0;
    for (const auto& range : ram)
        total += range.size;
    return total;
}

void write_machine_config(snapshot::StateWriter& out, const MachineConfig& machine)
{
    out.u16(kMachineLayout);
    out.u32(machine.cpus);
    out.u32(static_cast<std::uint32_t>(machine.ram.size()));
    for (const auto& range : machine.ram) {
        out.u64(range.guest_address);
        out.u64(range.size);
    }
    out.string(machine.kernel_path);
    out.string(machine.cmdline);
    out.string(machine.cpu_template);
    out.u32(static_cast<std::uint32_t>(machine.disks.size()));
    for (const auto& disk : machine.disks) {
        out.string(disk.spec);
        out.string(disk.id);
        out.string(disk.path);
        out.u64(disk.size);
        out.u64(disk.device);
        out.u64(disk.inode);
    }
    out.u32(static_cast<std::uint32_t>(machine.nets.size()));
    for (const auto& net : machine.nets)
        out.string(net);
    out.boolean(machine.cpu_limit.has_value());
    write_double(out, machine.cpu_limit.value_or(0));
    out.u32(static_cast<std::uint32_t>(machine.vcpu_priorities.size()));
    for (auto priority : machine.vcpu_priorities)
        out.u32(priority);
    out.u64(machine.cpu_period_ns);
    out.boolean(machine.memory_limit.has_value());
    out.u64(machine.memory_limit.value_or(0));
    out.u64(machine.memory_reserve);
}

MachineConfig read_machine_config(snapshot::StateReader& in)
{
    const std::uint16_t layout_version = in.u16();
    if (layout_version != kMachineLayout)
        in.fail(fmt::format("machine config layout {} (this minivmm reads layout {})", layout_version, kMachineLayout));
    MachineConfig machine;
    machine.cpus = in.index(layout::kMaxVcpusXapic + 1, "vCPU count");
    if (machine.cpus == 0)
        in.fail("0 vCPUs");
    const std::uint32_t ranges = in.index(kMaxRamRanges + 1, "RAM range count");
    for (std::uint32_t i = 0; i < ranges; ++i) {
        layout::RamRange range {};
        range.guest_address = in.u64();
        range.size = in.u64();
        machine.ram.push_back(range);
    }
    // The only layouts minivmm builds are those of layout::ram_ranges (memory_layout.hpp); any
    // other would put RAM where devices live.
    const std::uint64_t total = machine.ram_bytes();
    if (machine.ram.empty() || total < layout::kMinimumRamSize || total % layout::MiB != 0
        || machine.ram != layout::ram_ranges(total))
        in.fail("the RAM layout is not one minivmm builds");
    machine.kernel_path = in.string(kMaxPath);
    machine.cmdline = in.string(kMaxCmdline);
    machine.cpu_template = in.string(64);
    const std::uint32_t disks = in.index(VirtioMmioSlot::kMaxSlots + 1, "disk count");
    for (std::uint32_t i = 0; i < disks; ++i) {
        SavedDisk disk;
        disk.spec = in.string(kMaxSpec);
        disk.id = in.string(64);
        disk.path = in.string(kMaxPath);
        disk.size = in.u64();
        disk.device = in.u64();
        disk.inode = in.u64();
        machine.disks.push_back(std::move(disk));
    }
    const std::uint32_t nets = in.index(VirtioMmioSlot::kMaxSlots + 1 - disks, "net count");
    for (std::uint32_t i = 0; i < nets; ++i)
        machine.nets.push_back(in.string(kMaxSpec));
    const bool limited = in.boolean();
    const std::uint64_t limit_bits = in.u64();
    const double limit = std::bit_cast<double>(limit_bits);
    if (!limited && limit_bits != 0)
        in.fail("a CPU limit value without a CPU limit");
    if (limited) {
        if (!std::isfinite(limit) || limit <= 0)
            in.fail("the CPU limit is not a positive number");
        machine.cpu_limit = limit;
    }
    const std::uint32_t priorities = in.index(layout::kMaxVcpusXapic + 1, "vCPU priority count");
    for (std::uint32_t i = 0; i < priorities; ++i)
        machine.vcpu_priorities.push_back(in.u32());
    machine.cpu_period_ns = in.u64();
    const bool memory_limited = in.boolean();
    const std::uint64_t memory_limit = in.u64();
    if (!memory_limited && memory_limit != 0)
        in.fail("a memory limit value without a memory limit");
    if (memory_limited)
        machine.memory_limit = memory_limit;
    machine.memory_reserve = in.u64();
    in.expect_end();
    return machine;
}

std::string disk_spec_with_path(const std::string& spec, const std::string& path)
{
    std::string result = "path=" + path;
    std::size_t start = 0;
    while (start <= spec.size()) {
        const std::size_t comma = std::min(spec.find(',', start), spec.size());
        const std::string item = spec.substr(start, comma - start);
        if (!item.empty() && item.rfind("path=", 0) != 0)
            result += "," + item;
        start = comma + 1;
    }
    return result;
}

VmConfig restore_vm_config(const MachineConfig& machine, const RestoreOverrides& overrides)
{
    VmConfig config;
    config.kernel_path = machine.kernel_path;
    config.cmdline = machine.cmdline;
    config.cpus = machine.cpus;
    config.memory_bytes = machine.ram_bytes();
    config.cpu_template = machine.cpu_template;
    for (const auto& [id, path] : overrides.disk_paths) {
        bool known = false;
        for (const auto& disk : machine.disks)
            known = known || disk.id == id;
        if (!known)
            throw UserError(fmt::format("--disk id={}: the snapshot has no disk with that id", id));
    }
    for (const auto& disk : machine.disks) {
        const auto override = overrides.disk_paths.find(disk.id);
        const std::string path = override == overrides.disk_paths.end() ? disk.path : override->second;
        const std::uint64_t size = image_size(path, disk.id);
        // Without --with-disks the snapshot holds no disk contents: the guest's idea of the
        // disk (its capacity, what it cached) is only right for the same disk at the same size.
        if (size != disk.size)
            throw UserError(fmt::format("disk {}: {} is {} bytes, the snapshot was taken with {} bytes", disk.id, path,
                size, disk.size));
        const std::string spec = override == overrides.disk_paths.end() ? disk.spec : disk_spec_with_path(disk.spec, path);
        if (virtio::parse_disk_spec(spec).path != path)
            throw UserError(fmt::format("disk {}: its --disk text does not name {}", disk.id, path));
        config.disks.push_back(spec);
    }
    config.nets = machine.nets;
    config.limits.cpu_limit = machine.cpu_limit;
    config.limits.vcpu_priorities = machine.vcpu_priorities;
    if (machine.cpu_period_ns > 0)
        config.limits.cpu_period = limiter::Nanos(machine.cpu_period_ns);
    config.limits.memory_limit = machine.memory_limit;
    config.limits.memory_reserve = machine.memory_reserve;
    return config;
}

} // namespace minivmm::vm
