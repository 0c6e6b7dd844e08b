// Kernel file detection and loading (see kernel_image.hpp): ELF per the gABI ("ELF Header",
// "Program Header", "Note Section"), PVH entry per Xen public/elfnote.h, bzImage per Linux
// boot.rst ("Loading The Rest of The Kernel", "64-bit Boot Protocol").
#include "vmm/boot/kernel_image.hpp"

#include <elf.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/boot/file_bytes.hpp"

namespace minivmm::boot {

const char* to_string(KernelKind kind)
{
    switch (kind) {
    case KernelKind::PvhElf: return "PVH ELF";
    case KernelKind::LinuxElf: return "Linux ELF vmlinux";
    case KernelKind::BzImage: return "bzImage";
    }
    return "?";
}

namespace {

// Xen public/elfnote.h: "XEN_ELFNOTE_PHYS32_ENTRY 18", the physical 32-bit PVH entry point,
// in a note named "Xen".
constexpr std::uint32_t kXenElfnotePhys32Entry = 18;
// x86-64 Linux links its text at __START_KERNEL_map (0xffffffff80000000) and above.
constexpr std::uint64_t kLinuxKernelMapStart = 0xffff'ffff'8000'0000;

bool starts_with(std::span<const std::uint8_t> file, std::string_view prefix)
{
    return file.size() >= prefix.size() && std::memcmp(file.data(), prefix.data(), prefix.size()) == 0;
}

std::string hex_bytes(std::span<const std::uint8_t> file, std::size_t count)
{
    std::string text;
    for (std::size_t i = 0; i < std::min(count, file.size()); ++i)
        text += fmt::format("{}{:02x}", i ? " " : "", file[i]);
    return text;
}

std::string mib(std::uint64_t bytes)
{
    return fmt::format("{:.1f} MiB", double(bytes) / double(layout::MiB));
}

struct Elf32Types {
    using Ehdr = Elf32_Ehdr;
    using Phdr = Elf32_Phdr;
    static constexpr unsigned kBits = 32;
};
struct Elf64Types {
    using Ehdr = Elf64_Ehdr;
    using Phdr = Elf64_Phdr;
    static constexpr unsigned kBits = 64;
};

struct ElfNotes {
    std::optional<std::uint64_t> pvh_entry;
    bool linux_note = false;
};

// gABI "Note Section": namesz, descsz, type, then the name and the descriptor, each padded to
// the note alignment (4; 8 when the segment says so, as some 64-bit toolchains emit).
void scan_notes(const FileBytes& file, std::size_t header_index, std::uint64_t offset, std::uint64_t size,
    std::uint64_t alignment, ElfNotes& notes)
{
    const auto align = [alignment](std::uint64_t value) { return (value + alignment - 1) & ~(alignment - 1); };
    std::uint64_t cursor = 0;
    while (cursor + 12 <= size) {
        const std::uint64_t base = offset + cursor;
        const std::uint32_t namesz = *file.read<std::uint32_t>(base);
        const std::uint32_t descsz = *file.read<std::uint32_t>(base + 4);
        const std::uint32_t type = *file.read<std::uint32_t>(base + 8);
        // 32-bit sizes in 64-bit arithmetic: these sums cannot overflow.
        const std::uint64_t name_offset = 12;
        const std::uint64_t desc_offset = name_offset + align(namesz);
        const std::uint64_t next = desc_offset + align(descsz);
        if (desc_offset + descsz > size - cursor)
            throw UserError(fmt::format("kernel {}: ELF note at byte {:#x} (program header {}) runs past its segment's "
                                        "end: the notes are corrupt", file.name(), base, header_index));
        const auto name = *file.sub(base + name_offset, namesz);
        const auto desc = *file.sub(base + desc_offset, descsz);
        const auto named = [&](std::string_view expected) {
            // The name includes its NUL terminator.
            return namesz == expected.size() + 1 && std::memcmp(name.data(), expected.data(), expected.size()) == 0
                && name[expected.size()] == 0;
        };
        if (named("Xen") && type == kXenElfnotePhys32Entry) {
            if (descsz == 4) {
                std::uint32_t entry;
                std::memcpy(&entry, desc.data(), 4);
                notes.pvh_entry = entry;
            } else if (descsz == 8) {
                std::uint64_t entry;
                std::memcpy(&entry, desc.data(), 8);
                notes.pvh_entry = entry;
            } else {
                throw UserError(fmt::format("kernel {}: its PVH entry note (Xen, XEN_ELFNOTE_PHYS32_ENTRY) has a {}-byte "
                                            "value; the ABI allows 4 or 8 bytes", file.name(), descsz));
            }
        } else if (named("Linux")) {
            notes.linux_note = true;
        }
        cursor += next;
    }
}

const char* elf_type_name(std::uint16_t type)
{
    switch (type) {
    case ET_REL: return "a relocatable object (.o)";
    case ET_DYN: return "a shared object or PIE";
    case ET_CORE: return "a core dump";
    default: return "not an executable";
    }
}

template<typename Types>
KernelImage load_elf(const GuestMemory& memory, const FileBytes& file)
{
    using Ehdr = typename Types::Ehdr;
    using Phdr = typename Types::Phdr;
    const auto& name = file.name();

    const auto ehdr_read = file.read<Ehdr>(0);
    if (!ehdr_read)
        throw UserError(fmt::format("kernel {}: ELF{} header needs {} bytes but the file has {}: the file is truncated",
            name, Types::kBits, sizeof(Ehdr), file.size()));
    const Ehdr ehdr = *ehdr_read;
    if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
        throw UserError(fmt::format("kernel {}: big-endian ELF (EI_DATA = {}): an x86 kernel is little-endian",
            name, ehdr.e_ident[EI_DATA]));
    if (ehdr.e_ident[EI_VERSION] != EV_CURRENT || ehdr.e_version != EV_CURRENT)
        throw UserError(fmt::format("kernel {}: ELF version {} (expected {}): the header is corrupt", name,
            ehdr.e_ident[EI_VERSION], EV_CURRENT));
    if (ehdr.e_machine != EM_X86_64 && ehdr.e_machine != EM_386)
        throw UserError(fmt::format("kernel {}: ELF for machine {} (EM_X86_64 is {}, EM_386 is {}): not an x86 kernel",
            name, ehdr.e_machine, EM_X86_64, EM_386));
    if (ehdr.e_type != ET_EXEC)
        throw UserError(fmt::format("kernel {}: ELF type {} is {}: pass the linked kernel executable",
            name, ehdr.e_type, elf_type_name(ehdr.e_type)));
    if (ehdr.e_phnum == 0 || ehdr.e_phnum == PN_XNUM)
        throw UserError(fmt::format("kernel {}: ELF has {} program headers: nothing to load", name,
            ehdr.e_phnum == 0 ? "no" : "an extended count of"));
    if (ehdr.e_phentsize != sizeof(Phdr))
        throw UserError(fmt::format("kernel {}: ELF program header size is {} bytes, ELF{} requires {}: the header is corrupt",
            name, ehdr.e_phentsize, Types::kBits, sizeof(Phdr)));
    const std::uint64_t table_size = std::uint64_t(ehdr.e_phnum) * sizeof(Phdr);
    if (!file.contains(ehdr.e_phoff, table_size))
        throw UserError(fmt::format("kernel {}: ELF program header table [{:#x}, +{:#x}) runs past the file's end "
                                    "({} bytes): the file is truncated", name, std::uint64_t(ehdr.e_phoff), table_size, file.size()));

    KernelImage image{};
    image.lowest = ~std::uint64_t(0);
    image.highest = 0;
    ElfNotes notes;
    bool kernel_map_addresses = false;
    struct VirtualMapping {
        std::uint64_t vaddr, paddr, size;
    };
    std::vector<VirtualMapping> mappings;

    for (std::size_t i = 0; i < ehdr.e_phnum; ++i) {
        const Phdr phdr = *file.read<Phdr>(ehdr.e_phoff + i * sizeof(Phdr));
        const std::uint64_t offset = phdr.p_offset;
        const std::uint64_t filesz = phdr.p_filesz;
        const std::uint64_t memsz = phdr.p_memsz;
        if (phdr.p_type == PT_NOTE) {
            if (!file.contains(offset, filesz))
                throw UserError(fmt::format("kernel {}: ELF program header {} (notes) ends past the file's end ({} bytes): "
                                            "the file is truncated", name, i, file.size()));
            scan_notes(file, i, offset, filesz, phdr.p_align == 8 ? 8 : 4, notes);
            continue;
        }
        if (phdr.p_type != PT_LOAD || memsz == 0)
            continue;
        if (!file.contains(offset, filesz))
            throw UserError(fmt::format("kernel {}: ELF program header {} ends at byte {}, past the file's end ({} bytes): "
                                        "the file is truncated", name, i,
                                        offset > ~filesz ? std::string("2^64+") : std::to_string(offset + filesz), file.size()));
        if (filesz > memsz)
            throw UserError(fmt::format("kernel {}: ELF program header {} has a file size ({:#x}) larger than its memory "
                                        "size ({:#x}): the header is corrupt", name, i, filesz, memsz));
        const std::uint64_t paddr = phdr.p_paddr;
        if (paddr < kKernelMinimumAddress)
            throw UserError(fmt::format("kernel {}: ELF program header {} loads at {:#x}, below 1 MiB where minivmm keeps "
                                        "its boot structures: link the kernel at 1 MiB (0x100000) or above", name, i, paddr));
        if (paddr > ~memsz)
            throw UserError(fmt::format("kernel {}: ELF program header {} at {:#x} with size {:#x} wraps the address "
                                        "space: the header is corrupt", name, i, paddr, memsz));
        const auto target = memory.slice(paddr, memsz);
        if (!target)
            throw UserError(fmt::format("kernel {}: ELF program header {} loads [{:#x}, {:#x}), which is not inside the "
                                        "guest's RAM ({} in all): give the guest more memory (--memory) or link the "
                                        "kernel lower", name, i, paddr, paddr + memsz, mib(memory.total_size())));
        // gABI: bytes past p_filesz up to p_memsz (.bss) are zero.
        if (filesz)
            std::memcpy(target->data(), file.bytes().data() + offset, filesz);
        std::memset(target->data() + filesz, 0, memsz - filesz);

        image.ranges.push_back({paddr, paddr + memsz});
        image.lowest = std::min(image.lowest, paddr);
        image.highest = std::max(image.highest, paddr + memsz);
        mappings.push_back({phdr.p_vaddr, paddr, memsz});
        if (std::uint64_t(phdr.p_vaddr) >= kLinuxKernelMapStart)
            kernel_map_addresses = true;
    }
    if (image.ranges.empty())
        throw UserError(fmt::format("kernel {}: ELF has no loadable (PT_LOAD) segment: nothing to load", name));

    const auto loaded = [&](std::uint64_t address) {
        return std::any_of(image.ranges.begin(), image.ranges.end(),
            [&](const LoadedRange& r) { return address >= r.start && address < r.end; });
    };

    // Prefer PVH when the kernel offers it: no zero page, no page tables, and Linux built with
    // CONFIG_PVH boots through it as well.
    if (notes.pvh_entry) {
        const std::uint64_t entry = *notes.pvh_entry;
        if (entry > 0xffff'ffff || !loaded(entry))
            throw UserError(fmt::format("kernel {}: its PVH entry point {:#x} (Xen note XEN_ELFNOTE_PHYS32_ENTRY) is not "
                                        "inside any loaded segment: the note is wrong", name, entry));
        image.kind = KernelKind::PvhElf;
        image.entry = entry;
        return image;
    }

    const bool is_linux = Types::kBits == 64 && ehdr.e_machine == EM_X86_64 && (notes.linux_note || kernel_map_addresses);
    if (!is_linux)
        throw UserError(fmt::format("kernel {}: ELF has no PVH entry note (Xen ELF note type {}, XEN_ELFNOTE_PHYS32_ENTRY) "
                                    "and is not an x86-64 Linux vmlinux: add the note (Linux: CONFIG_PVH=y) or "
                                    "boot a bzImage", name, kXenElfnotePhys32Entry));

    // vmlinux's e_entry is the physical phys_startup_64 on current kernels; an image whose entry
    // is a virtual address is translated through the PT_LOAD that maps it.
    std::uint64_t entry = ehdr.e_entry;
    if (!loaded(entry)) {
        const auto mapping = std::find_if(mappings.begin(), mappings.end(),
            [&](const VirtualMapping& m) { return entry >= m.vaddr && entry - m.vaddr < m.size; });
        if (mapping == mappings.end())
            throw UserError(fmt::format("kernel {}: ELF entry point {:#x} is inside no loaded segment, physical or "
                                        "virtual: the ELF is corrupt", name, entry));
        entry = entry - mapping->vaddr + mapping->paddr;
    }
    image.kind = KernelKind::LinuxElf;
    image.entry = entry;
    return image;
}

KernelImage load_bz_image(const GuestMemory& memory, std::span<const std::uint8_t> file, const std::string& name)
{
    KernelImage image{};
    image.bz_header = parse_bz_image_header(file, name);
    const BzImageHeader& bz = *image.bz_header;
    const setup_header& header = bz.header;

    // boot.rst, "Loading The Rest of The Kernel": the protected-mode kernel starts at
    // (setup_sects + 1) * 512 in the file and is loaded at 1 MiB (LOADED_HIGH).
    const auto payload = file.subspan(bz.protected_mode_offset);
    const std::uint64_t load = layout::kKernelAddress;
    const auto target = memory.slice(load, payload.size());
    if (!target)
        throw UserError(fmt::format("kernel {}: the bzImage's protected-mode part ({}) does not fit in the guest's RAM "
                                    "({}) at 1 MiB: give the guest more memory (--memory)", name,
                                    mib(payload.size()), mib(memory.total_size())));
    std::memcpy(target->data(), payload.data(), payload.size());
    image.ranges.push_back({load, load + payload.size()});

    // Where the kernel decompresses itself (arch/x86/boot/compressed/head_64.S): a relocatable
    // kernel runs at the load address rounded up to kernel_alignment, but never below
    // pref_address (LOAD_PHYSICAL_ADDR); a fixed one at pref_address. It then needs init_size
    // bytes there (boot.rst, "init_size").
    const std::uint64_t alignment = header.kernel_alignment;
    if (header.relocatable_kernel && (alignment == 0 || (alignment & (alignment - 1)) != 0))
        throw UserError(fmt::format("kernel {}: kernel_alignment {:#x} is not a power of two: the header is corrupt",
            name, alignment));
    std::uint64_t run = header.pref_address;
    if (header.relocatable_kernel)
        run = std::max<std::uint64_t>(run, (load + alignment - 1) & ~(alignment - 1));
    const std::uint64_t init_size = header.init_size;
    // boot.rst, "init_size": the memory the kernel needs from its runtime start before it can
    // look at the memory map; every real kernel needs some, so 0 is a corrupt header (and would
    // leave the decompression area unreserved).
    if (init_size == 0)
        throw UserError(fmt::format("kernel {}: init_size is 0, so the kernel would have no memory to decompress "
                                    "into: the header is corrupt", name));
    if (run > ~init_size || !memory.contains(run, init_size))
        throw UserError(fmt::format("kernel {}: the kernel decompresses into [{:#x}, {:#x}) (init_size {}), which is not "
                                    "inside the guest's RAM ({}): give the guest more memory (--memory)", name, run,
                                    run + init_size, mib(init_size), mib(memory.total_size())));
    image.ranges.push_back({run, run + init_size});

    image.kind = KernelKind::BzImage;
    image.entry = load + kBzImage64BitEntryOffset;
    image.lowest = load;
    image.highest = std::max(load + payload.size(), run + init_size);
    return image;
}

} // namespace

std::string describe_non_kernel(std::span<const std::uint8_t> file)
{
    if (file.empty())
        return "an empty file";
    if (file.size() < 4)
        return fmt::format("a {}-byte file", file.size());
    if (starts_with(file, "\x1f\x8b"))
        return "gzip data (a compressed kernel? decompress it, or pass the bzImage)";
    if (starts_with(file, std::string_view("\xfd" "7zXZ\0", 6)))
        return "xz data";
    if (starts_with(file, "\x28\xb5\x2f\xfd"))
        return "zstd data";
    if (starts_with(file, "BZh"))
        return "bzip2 data";
    if (starts_with(file, "\x02\x21\x4c\x18") || starts_with(file, "\x04\x22\x4d\x18"))
        return "lz4 data";
    if (starts_with(file, "070701") || starts_with(file, "070702") || starts_with(file, "070707"))
        return "a cpio archive (an initramfs? pass it with --initrd)";
    if (starts_with(file, "\x7f" "ELF")) {
        if (file.size() < EI_NIDENT)
            return fmt::format("a truncated ELF file ({} bytes, shorter than its identification)", file.size());
        return fmt::format("an ELF file of class {} (neither ELF32 nor ELF64)", file[EI_CLASS]);
    }
    if (starts_with(file, "MZ"))
        return "a PE/COFF executable without a Linux setup header (an EFI application?)";
    if (starts_with(file, "#!"))
        return "a script";
    const std::size_t probe = std::min<std::size_t>(file.size(), 512);
    const bool text = std::all_of(file.begin(), file.begin() + probe,
        [](std::uint8_t c) { return std::isprint(c) || std::isspace(c); });
    if (text)
        return "text";
    return fmt::format("unrecognized data (first bytes {})", hex_bytes(file, 8));
}

KernelImage load_kernel(const GuestMemory& memory, std::span<const std::uint8_t> file, const std::string& name)
{
    if (file.size() >= EI_NIDENT && starts_with(file, "\x7f" "ELF")) {
        const FileBytes bytes(file, name);
        if (file[EI_CLASS] == ELFCLASS32)
            return load_elf<Elf32Types>(memory, bytes);
        if (file[EI_CLASS] == ELFCLASS64)
            return load_elf<Elf64Types>(memory, bytes);
    }
    if (has_setup_header_magic(file))
        return load_bz_image(memory, file, name);
    throw UserError(fmt::format("kernel {}: not a kernel: found {}; pass an ELF vmlinux (with a PVH note or x86-64 "
                                "Linux) or a bzImage", name, describe_non_kernel(file)));
}

} // namespace minivmm::boot
