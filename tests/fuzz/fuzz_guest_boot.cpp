// libFuzzer target: the kernel file parsers and the whole boot-time setup behind them
// (prepare_guest_boot: ELF program headers and the PVH note per the ELF gABI and Xen
// public/elfnote.h, the bzImage setup header per Linux boot.rst, then initrd placement, cmdline,
// MP/ACPI tables and the zero page or PVH start info) against small guest RAM, without /dev/kvm.
//
// Input: byte 0 picks the guest RAM size (2 to 16 MiB), byte 1 the vCPU count, byte 2 flags
// (initrd present, cmdline from the input or generated), a 16-bit cmdline length, a 32-bit
// initrd size, then the cmdline bytes when taken from the input; the rest is the kernel file.
//
// Invariants: anything malformed is a UserError (any other exception, or a crash, is a bug); a
// loaded kernel lies in RAM at or above 1 MiB with its entry inside what was loaded; an initrd
// is page-aligned, above the kernel and inside low RAM.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/guest_boot.hpp"
#include "vmm/memory/guest_memory.hpp"

using namespace minivmm;
using namespace minivmm::boot;
using minivmm::fuzz::invariant_failed;

namespace {

constexpr std::uint64_t kRamSizes[] = {2 * layout::MiB, 2 * layout::MiB + 4096, 3 * layout::MiB, 4 * layout::MiB,
    5 * layout::MiB + 512, 8 * layout::MiB, 16 * layout::MiB};
// The largest initrd the target hands over: more than the biggest RAM, so "does not fit" is reachable.
constexpr std::uint64_t kMaxInitrd = 17 * layout::MiB;

// One guest RAM per size for the whole run: boot setup only writes guest memory, never reads
// what an earlier input left there.
const GuestMemory& memory_of(std::uint64_t size)
{
    static std::map<std::uint64_t, GuestMemory> memories;
    auto found = memories.find(size);
    if (found == memories.end())
        found = memories.emplace(size, GuestMemory::create(layout::ram_ranges(size))).first;
    return found->second;
}

const std::vector<std::uint8_t>& initrd_bytes()
{
    static const std::vector<std::uint8_t> bytes(kMaxInitrd, 0x5a);
    return bytes;
}

bool inside(const std::vector<LoadedRange>& ranges, std::uint64_t address)
{
    for (const auto& range : ranges)
        if (address >= range.start && address < range.end)
            return true;
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    fuzz::InputReader input(data, size);
    const std::uint64_t ram_size = kRamSizes[input.byte() % std::size(kRamSizes)];
    const unsigned vcpus = input.byte();
    const std::uint8_t flags = input.byte();
    const std::uint16_t cmdline_length = input.u16();
    const std::uint32_t initrd_size = input.u32();

    BootFiles files;
    files.kernel_name = "fuzz";
    files.initrd_name = "fuzz-initrd";
    files.vcpu_count = vcpus;
    if (flags & 1)
        files.initrd = std::span<const std::uint8_t>(initrd_bytes()).first(initrd_size % (kMaxInitrd + 1));
    if (flags & 2) {
        const auto bytes = input.bytes(cmdline_length % 256);
        files.cmdline.assign(bytes.begin(), bytes.end());
    } else {
        // Around the limits: 255, 2047 (x86 COMMAND_LINE_SIZE - 1), 65535 (minivmm's area - 1).
        files.cmdline.assign(cmdline_length + (flags & 4 ? 1 : 0), 'x');
    }
    const auto kernel = input.bytes(input.remaining());
    files.kernel = kernel;

    const GuestMemory& memory = memory_of(ram_size);
    const auto ranges = layout::ram_ranges(ram_size);
    GuestBoot boot;
    try {
        boot = prepare_guest_boot(memory, ranges, files);
    } catch (const UserError& error) {
        if (std::getenv("MINIVMM_FUZZ_VERBOSE"))
            std::fprintf(stderr, "refused: %s\n", error.what());
        return 0; // refused with a message: what malformed input must get
    }
    if (std::getenv("MINIVMM_FUZZ_VERBOSE"))
        std::fprintf(stderr, "booted: %s entry %#lx initrd %d\n", to_string(boot.kernel.kind), boot.kernel.entry,
            boot.initrd.has_value());

    const KernelImage& image = boot.kernel;
    if (image.ranges.empty() || image.lowest < kKernelMinimumAddress || image.highest > ram_size)
        invariant_failed("a loaded kernel lies outside RAM or below 1 MiB");
    for (const auto& range : image.ranges)
        if (range.start >= range.end || !memory.contains(range.start, range.end - range.start))
            invariant_failed("a kernel range is empty or not inside RAM");
    if (image.kind != KernelKind::BzImage && !inside(image.ranges, image.entry))
        invariant_failed("an ELF kernel's entry point is outside what was loaded");
    if (image.kind == KernelKind::PvhElf && image.entry > 0xffff'ffff)
        invariant_failed("a PVH entry point above 4 GiB");
    if (boot.initrd) {
        const auto& initrd = *boot.initrd;
        if (initrd.address % 4096 != 0 || initrd.address < image.highest || initrd.size != files.initrd->size()
            || initrd.address + initrd.size > ranges.front().end())
            invariant_failed("the initrd is misplaced");
    }
    return 0;
}
