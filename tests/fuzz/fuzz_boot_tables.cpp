// libFuzzer target: the boot-table builders with hostile sizes: the e820 map for any guest
// memory size (ACPI 6.5 §15.1 "INT 15H, E820H"), initrd placement (Linux boot.rst
// "initrd_addr_max"), the zero page (boot.rst "64-bit Boot Protocol", zero-page.rst) from any
// setup header, initrd and memory map, the PVH start info (Xen start_info.h) and the cmdline
// against any length limit, written into 1 MiB of guest RAM.
//
// Input: up to 8 operations, one opcode byte each followed by its little-endian operands (see
// the switch below). Anything a caller may pass wrongly is a UserError; any other exception
// or a crash is a bug, and each builder's output is checked against its spec rules.
#include <asm/bootparam.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"
#include "vmm/base/mmap.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/cmdline.hpp"
#include "vmm/boot/e820_entry.hpp"
#include "vmm/boot/initrd.hpp"
#include "vmm/boot/pvh_start_info.hpp"
#include "vmm/boot/zero_page.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using minivmm::fuzz::invariant_failed;

namespace {

const GuestMemory& low_memory()
{
    static const GuestMemory memory = [] {
        std::vector<GuestMemory::Region> regions;
        regions.push_back({0, Mapping::anonymous(layout::MiB)});
        return GuestMemory(std::move(regions));
    }();
    return memory;
}

// A guest memory size as a user could ask for one: anything up to 2^64 - 1, biased to the
// boundaries (the MMIO hole, 4 GiB) by the low bits of `selector`.
std::uint64_t memory_size(fuzz::InputReader& input)
{
    const std::uint8_t selector = input.byte();
    const std::uint64_t raw = input.u64();
    switch (selector % 4) {
    case 0: return raw;
    case 1: return layout::kMmioHoleStart + static_cast<std::int16_t>(raw) * std::int64_t(4096);
    case 2: return raw % (8 * layout::GiB);
    default: return ~std::uint64_t(0) - raw % (4 * layout::GiB);
    }
}

// e820 map rules for RAM of `size` bytes: sorted, non-overlapping, non-empty entries covering
// exactly the RAM ranges, none of it in the MMIO hole.
void check_e820(const std::vector<layout::RamRange>& ranges, const std::vector<E820Entry>& map)
{
    std::uint64_t ram = 0;
    for (const auto& range : ranges) {
        if (range.end() < range.guest_address)
            return; // a size past 2^64 - 3 GiB wraps the high range: ram_ranges' caller refuses it
        ram += range.size;
    }
    std::uint64_t mapped = 0;
    for (std::size_t i = 0; i < map.size(); ++i) {
        const E820Entry& entry = map[i];
        if (entry.size == 0 || entry.end() < entry.address)
            invariant_failed("e820: an empty or wrapping entry");
        if (i > 0 && entry.address < map[i - 1].end())
            invariant_failed("e820: entries out of order or overlapping");
        if (entry.address < layout::kMmioHoleEnd && entry.end() > layout::kMmioHoleStart)
            invariant_failed("e820: an entry covers the MMIO hole");
        mapped += entry.size;
    }
    if (mapped != ram)
        invariant_failed("e820: the map does not cover exactly the guest's RAM");
}

void e820_for_size(fuzz::InputReader& input)
{
    const auto ranges = layout::ram_ranges(memory_size(input));
    check_e820(ranges, e820_map(ranges));
}

void initrd_placement(fuzz::InputReader& input)
{
    const auto ranges = layout::ram_ranges(memory_size(input));
    const std::uint64_t size = input.u64() >> (input.byte() % 64);
    const std::uint64_t kernel_end = input.u64() >> (input.byte() % 64);
    const std::uint64_t max_address = input.byte() & 1 ? kNoInitrdAddressLimit : input.u32();
    std::uint64_t address;
    try {
        address = place_initrd(size, ranges, kernel_end, max_address);
    } catch (const UserError&) {
        return;
    }
    std::uint64_t top = std::min(ranges.front().end(), layout::kMmioHoleStart);
    if (max_address != kNoInitrdAddressLimit)
        top = std::min(top, max_address + 1);
    if (address % 4096 != 0 || address < kernel_end || address > top || size > top - address)
        invariant_failed("place_initrd: the initrd is misplaced");
}

// A KernelImage with a setup header from the input (a bzImage) or none (an ELF vmlinux).
KernelImage kernel_from(fuzz::InputReader& input)
{
    KernelImage kernel{};
    kernel.kind = KernelKind::LinuxElf;
    kernel.entry = layout::kKernelAddress;
    if (input.byte() & 1) {
        BzImageHeader bz{};
        bz.header_length = input.byte() % (sizeof(setup_header) + 1);
        const auto bytes = input.bytes(bz.header_length);
        std::copy(bytes.begin(), bytes.end(), reinterpret_cast<std::uint8_t*>(&bz.header));
        bz.protocol = bz.header.version;
        kernel.kind = KernelKind::BzImage;
        kernel.bz_header = bz;
    }
    return kernel;
}

std::optional<InitrdPlacement> initrd_from(fuzz::InputReader& input)
{
    if (!(input.byte() & 1))
        return std::nullopt;
    const std::uint64_t address = input.u64();
    const std::uint64_t size = input.u64();
    return InitrdPlacement{address, size};
}

void zero_page(fuzz::InputReader& input)
{
    const KernelImage kernel = kernel_from(input);
    const auto initrd = initrd_from(input);
    std::vector<E820Entry> map(input.byte() % 160);
    for (auto& entry : map)
        entry = {input.u64(), input.u64(), static_cast<E820Type>(input.u32())};
    const std::uint64_t rsdp = input.u64();
    boot_params params;
    try {
        params = build_zero_page(kernel, initrd, map, rsdp);
    } catch (const UserError&) {
        if (map.size() <= E820_MAX_ENTRIES_ZEROPAGE)
            invariant_failed("build_zero_page refused a memory map that fits");
        return;
    }
    if (map.size() > E820_MAX_ENTRIES_ZEROPAGE)
        invariant_failed("build_zero_page accepted more e820 entries than the zero page holds");
    if (params.e820_entries != map.size())
        invariant_failed("zero page: e820_entries differs from the map");
    for (std::size_t i = 0; i < map.size(); ++i)
        if (params.e820_table[i].addr != map[i].address || params.e820_table[i].size != map[i].size)
            invariant_failed("zero page: an e820 entry was not copied");
    if (!(params.hdr.loadflags & LOADED_HIGH) || params.hdr.type_of_loader != 0xff
        || params.hdr.cmd_line_ptr != layout::kCmdlineAddress)
        invariant_failed("zero page: loader fields not set");
    if (initrd && (params.hdr.ramdisk_image | std::uint64_t(params.ext_ramdisk_image) << 32) != initrd->address)
        invariant_failed("zero page: the initrd address was not split into ramdisk_image/ext_ramdisk_image");
}

// A cmdline of any length around the limits (255, 2047, 65535: minivmm's area) and past them,
// with a NUL inside when the input says so. Lengths stay below 128 KiB: every length past the
// area behaves alike, and bigger ones made each allocation an mmap and most of the run time.
std::string cmdline_from(fuzz::InputReader& input)
{
    const std::uint8_t how = input.byte();
    const std::uint32_t length = how & 2 ? 0x10000u + input.byte() : input.u16();
    std::string cmdline(length, 'c');
    if ((how & 8) && length > 0)
        cmdline[input.u16() % length] = '\0';
    return cmdline;
}

void write_tables(fuzz::InputReader& input, bool pvh)
{
    const GuestMemory& memory = low_memory();
    const auto ranges = layout::ram_ranges(memory_size(input));
    const auto map = e820_map(ranges);
    const std::string cmdline = cmdline_from(input);
    const auto initrd = initrd_from(input);
    try {
        if (pvh) {
            (void)write_pvh_start_info(memory, cmdline, initrd, map, input.u64());
            const auto info = memory.read_obj<HvmStartInfo>(layout::kPvhStartInfoAddress);
            if (!info || info->magic != kHvmStartMagicValue || info->memmap_entries != map.size())
                invariant_failed("PVH start info not written as built");
        } else {
            const KernelImage kernel = kernel_from(input);
            (void)write_zero_page(memory, kernel, cmdline, initrd, map, input.u64());
            if (cmdline.size() > linux_cmdline_limit(kernel))
                invariant_failed("write_zero_page accepted a cmdline longer than the kernel's limit");
        }
    } catch (const UserError&) {
        return;
    }
    // The cmdline was accepted: it is there, NUL-terminated, within the area.
    if (cmdline.size() >= layout::kCmdlineMaxSize || cmdline.find('\0') != std::string::npos)
        invariant_failed("a cmdline that does not fit minivmm's area was accepted");
    std::vector<std::uint8_t> back(cmdline.size() + 1);
    if (!memory.read(layout::kCmdlineAddress, back) || back.back() != 0
        || std::memcmp(back.data(), cmdline.data(), cmdline.size()) != 0)
        invariant_failed("the cmdline in guest memory differs from the one given");
}

void cmdline_limit(fuzz::InputReader& input)
{
    const std::string cmdline = cmdline_from(input);
    const std::uint64_t limit = input.u64() >> (input.byte() % 64);
    try {
        write_cmdline(low_memory(), cmdline, limit, "the fuzzer's limit");
    } catch (const UserError&) {
        return;
    }
    if (cmdline.size() > limit || cmdline.size() >= layout::kCmdlineMaxSize)
        invariant_failed("write_cmdline accepted a cmdline over its limit");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    fuzz::InputReader input(data, size);
    // A few operations per input: each may copy a 128 KiB cmdline, and a long program of them
    // finds nothing a short one does not, only slower.
    constexpr int kMaxOperations = 8;
    for (int operation = 0; operation < kMaxOperations && !input.empty(); ++operation) {
        switch (input.byte() % 6) {
        case 0: e820_for_size(input); break;
        case 1: initrd_placement(input); break;
        case 2: zero_page(input); break;
        case 3: write_tables(input, true); break;
        case 4: write_tables(input, false); break;
        default: cmdline_limit(input); break;
        }
    }
    return 0;
}
