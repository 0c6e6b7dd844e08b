// Synthetic kernel images for the boot tests: tiny ELF executables (ELF gABI) and bzImage setup
// headers (Linux boot.rst) built in memory, so no binary is committed.
#pragma once

#include <asm/bootparam.h>
#include <elf.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot::test {

inline GuestMemory guest_memory(std::uint64_t size) { return GuestMemory::create(layout::ram_ranges(size)); }

struct ElfSegment {
    std::uint64_t paddr;
    std::uint64_t vaddr;
    std::vector<std::uint8_t> data;
    std::uint64_t memsz;  // >= data.size()
};

struct ElfNote {
    std::string name;
    std::uint32_t type;
    std::vector<std::uint8_t> desc;
};

template<typename T>
void append(std::vector<std::uint8_t>& out, const T& value)
{
    const auto* p = reinterpret_cast<const std::uint8_t*>(&value);
    out.insert(out.end(), p, p + sizeof value);
}

inline std::vector<std::uint8_t> note_bytes(const std::vector<ElfNote>& notes)
{
    std::vector<std::uint8_t> out;
    for (const auto& note : notes) {
        append(out, std::uint32_t(note.name.size() + 1));
        append(out, std::uint32_t(note.desc.size()));
        append(out, note.type);
        out.insert(out.end(), note.name.begin(), note.name.end());
        out.push_back(0);
        while (out.size() % 4)
            out.push_back(0);
        out.insert(out.end(), note.desc.begin(), note.desc.end());
        while (out.size() % 4)
            out.push_back(0);
    }
    return out;
}

inline std::vector<std::uint8_t> u32_bytes(std::uint32_t v)
{
    std::vector<std::uint8_t> out;
    append(out, v);
    return out;
}
inline std::vector<std::uint8_t> u64_bytes(std::uint64_t v)
{
    std::vector<std::uint8_t> out;
    append(out, v);
    return out;
}

// Header, program headers (segments then one PT_NOTE if notes are given), then the data.
template<typename Ehdr, typename Phdr>
std::vector<std::uint8_t> make_elf(std::uint8_t elf_class, std::uint16_t machine, std::uint64_t entry,
    const std::vector<ElfSegment>& segments, const std::vector<ElfNote>& notes = {})
{
    const auto note_data = note_bytes(notes);
    const std::size_t phnum = segments.size() + (notes.empty() ? 0 : 1);
    Ehdr ehdr{};
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = elf_class;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_type = ET_EXEC;
    ehdr.e_machine = machine;
    ehdr.e_version = EV_CURRENT;
    ehdr.e_entry = static_cast<decltype(ehdr.e_entry)>(entry);
    ehdr.e_phoff = sizeof(Ehdr);
    ehdr.e_ehsize = sizeof(Ehdr);
    ehdr.e_phentsize = sizeof(Phdr);
    ehdr.e_phnum = static_cast<std::uint16_t>(phnum);

    std::uint64_t offset = sizeof(Ehdr) + phnum * sizeof(Phdr);
    std::vector<std::uint8_t> out;
    append(out, ehdr);
    for (const auto& segment : segments) {
        Phdr phdr{};
        phdr.p_type = PT_LOAD;
        phdr.p_offset = static_cast<decltype(phdr.p_offset)>(offset);
        phdr.p_paddr = static_cast<decltype(phdr.p_paddr)>(segment.paddr);
        phdr.p_vaddr = static_cast<decltype(phdr.p_vaddr)>(segment.vaddr);
        phdr.p_filesz = static_cast<decltype(phdr.p_filesz)>(segment.data.size());
        phdr.p_memsz = static_cast<decltype(phdr.p_memsz)>(segment.memsz);
        phdr.p_align = 0x1000;
        append(out, phdr);
        offset += segment.data.size();
    }
    if (!notes.empty()) {
        Phdr phdr{};
        phdr.p_type = PT_NOTE;
        phdr.p_offset = static_cast<decltype(phdr.p_offset)>(offset);
        phdr.p_filesz = static_cast<decltype(phdr.p_filesz)>(note_data.size());
        phdr.p_align = 4;
        append(out, phdr);
    }
    for (const auto& segment : segments)
        out.insert(out.end(), segment.data.begin(), segment.data.end());
    out.insert(out.end(), note_data.begin(), note_data.end());
    return out;
}

inline std::vector<std::uint8_t> make_elf64(std::uint64_t entry, const std::vector<ElfSegment>& segments,
    const std::vector<ElfNote>& notes = {})
{
    return make_elf<Elf64_Ehdr, Elf64_Phdr>(ELFCLASS64, EM_X86_64, entry, segments, notes);
}
inline std::vector<std::uint8_t> make_elf32(std::uint64_t entry, const std::vector<ElfSegment>& segments,
    const std::vector<ElfNote>& notes = {})
{
    return make_elf<Elf32_Ehdr, Elf32_Phdr>(ELFCLASS32, EM_386, entry, segments, notes);
}

inline ElfNote pvh_note(std::uint32_t entry) { return {"Xen", 18, u32_bytes(entry)}; }

// A bzImage: boot sector + setup sectors holding the header, then `payload` bytes of
// "protected-mode kernel" (0x5a).
struct BzImageSpec {
    std::uint16_t version = 0x020f;
    std::uint8_t setup_sects = 4;
    std::uint16_t xloadflags = XLF_KERNEL_64;
    std::uint32_t cmdline_size = 2047;
    std::uint32_t initrd_addr_max = 0x7fffffff;
    std::uint32_t init_size = 4 * 1024 * 1024;
    std::uint64_t pref_address = 0x1000000;
    std::uint32_t kernel_alignment = 0x200000;
    std::uint8_t relocatable = 1;
    std::size_t payload = 8192;
};

inline std::vector<std::uint8_t> make_bz_image(const BzImageSpec& spec)
{
    const std::size_t setup_sects = spec.setup_sects == 0 ? 4 : spec.setup_sects;
    std::vector<std::uint8_t> out((setup_sects + 1) * 512, 0);
    setup_header header{};
    header.setup_sects = spec.setup_sects;
    header.boot_flag = 0xaa55;
    // jump: EB xx, where 0x202 + xx is the header's end.
    header.jump = static_cast<std::uint16_t>(0xeb | ((sizeof(setup_header) - (0x202 - 0x1f1)) << 8));
    std::memcpy(&header.header, "HdrS", 4);
    header.version = spec.version;
    header.loadflags = LOADED_HIGH;
    header.kernel_alignment = spec.kernel_alignment;
    header.relocatable_kernel = spec.relocatable;
    header.xloadflags = spec.xloadflags;
    header.cmdline_size = spec.cmdline_size;
    header.initrd_addr_max = spec.initrd_addr_max;
    header.init_size = spec.init_size;
    header.pref_address = spec.pref_address;
    header.syssize = static_cast<std::uint32_t>(spec.payload / 16);
    std::memcpy(out.data() + 0x1f1, &header, sizeof header);
    out.insert(out.end(), spec.payload, 0x5a);
    return out;
}

} // namespace minivmm::boot::test
