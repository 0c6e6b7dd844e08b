// gdb's x86 register numbering (x86_register_layout.hpp; "Debugging with GDB" appendix G.5.9
// "i386 Features").
#include "vmm/gdb/x86_register_layout.hpp"

#include <array>
#include <cstring>

namespace minivmm::gdb {

namespace {
constexpr std::string_view kCore = "org.gnu.gdb.i386.core";
constexpr std::string_view kSse = "org.gnu.gdb.i386.sse";
constexpr std::string_view kSegments = "org.gnu.gdb.i386.segments";
constexpr std::string_view kControl = "org.minivmm.x86.control";

// i386: eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs (16), st0-7 (16..23),
// fctrl..fop (24..31), xmm0-7 (32..39), mxcsr (40), cr0 cr2 cr3 cr4 (41..44).
constexpr std::array<RegisterSlot, 45> kI386 {{
    {"eax", 4, "int32", kCore, ""}, {"ecx", 4, "int32", kCore, ""}, {"edx", 4, "int32", kCore, ""},
    {"ebx", 4, "int32", kCore, ""}, {"esp", 4, "data_ptr", kCore, ""}, {"ebp", 4, "data_ptr", kCore, ""},
    {"esi", 4, "int32", kCore, ""}, {"edi", 4, "int32", kCore, ""}, {"eip", 4, "code_ptr", kCore, ""},
    {"eflags", 4, "int32", kCore, ""}, {"cs", 4, "int32", kCore, ""}, {"ss", 4, "int32", kCore, ""},
    {"ds", 4, "int32", kCore, ""}, {"es", 4, "int32", kCore, ""}, {"fs", 4, "int32", kCore, ""},
    {"gs", 4, "int32", kCore, ""},
    {"st0", 10, "i387_ext", kCore, ""}, {"st1", 10, "i387_ext", kCore, ""}, {"st2", 10, "i387_ext", kCore, ""},
    {"st3", 10, "i387_ext", kCore, ""}, {"st4", 10, "i387_ext", kCore, ""}, {"st5", 10, "i387_ext", kCore, ""},
    {"st6", 10, "i387_ext", kCore, ""}, {"st7", 10, "i387_ext", kCore, ""},
    {"fctrl", 4, "int", kCore, "float"}, {"fstat", 4, "int", kCore, "float"}, {"ftag", 4, "int", kCore, "float"},
    {"fiseg", 4, "int", kCore, "float"}, {"fioff", 4, "int", kCore, "float"}, {"foseg", 4, "int", kCore, "float"},
    {"fooff", 4, "int", kCore, "float"}, {"fop", 4, "int", kCore, "float"},
    {"xmm0", 16, "vec128", kSse, ""}, {"xmm1", 16, "vec128", kSse, ""}, {"xmm2", 16, "vec128", kSse, ""},
    {"xmm3", 16, "vec128", kSse, ""}, {"xmm4", 16, "vec128", kSse, ""}, {"xmm5", 16, "vec128", kSse, ""},
    {"xmm6", 16, "vec128", kSse, ""}, {"xmm7", 16, "vec128", kSse, ""},
    {"mxcsr", 4, "int", kSse, "vector"},
    {"cr0", 4, "int32", kControl, "system"}, {"cr2", 4, "int32", kControl, "system"},
    {"cr3", 4, "int32", kControl, "system"}, {"cr4", 4, "int32", kControl, "system"},
}};

// amd64: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 (0..15), rip (16), eflags (17), cs ss ds es fs gs
// (18..23), st0-7 (24..31), fctrl..fop (32..39), xmm0-15 (40..55), mxcsr (56), fs_base gs_base
// (57, 58), cr0 cr2 cr3 cr4 cr8 efer (59..64).
constexpr std::array<RegisterSlot, 65> kAmd64 {{
    {"rax", 8, "int64", kCore, ""}, {"rbx", 8, "int64", kCore, ""}, {"rcx", 8, "int64", kCore, ""},
    {"rdx", 8, "int64", kCore, ""}, {"rsi", 8, "int64", kCore, ""}, {"rdi", 8, "int64", kCore, ""},
    {"rbp", 8, "data_ptr", kCore, ""}, {"rsp", 8, "data_ptr", kCore, ""},
    {"r8", 8, "int64", kCore, ""}, {"r9", 8, "int64", kCore, ""}, {"r10", 8, "int64", kCore, ""},
    {"r11", 8, "int64", kCore, ""}, {"r12", 8, "int64", kCore, ""}, {"r13", 8, "int64", kCore, ""},
    {"r14", 8, "int64", kCore, ""}, {"r15", 8, "int64", kCore, ""},
    {"rip", 8, "code_ptr", kCore, ""}, {"eflags", 4, "int32", kCore, ""},
    {"cs", 4, "int32", kCore, ""}, {"ss", 4, "int32", kCore, ""}, {"ds", 4, "int32", kCore, ""},
    {"es", 4, "int32", kCore, ""}, {"fs", 4, "int32", kCore, ""}, {"gs", 4, "int32", kCore, ""},
    {"st0", 10, "i387_ext", kCore, ""}, {"st1", 10, "i387_ext", kCore, ""}, {"st2", 10, "i387_ext", kCore, ""},
    {"st3", 10, "i387_ext", kCore, ""}, {"st4", 10, "i387_ext", kCore, ""}, {"st5", 10, "i387_ext", kCore, ""},
    {"st6", 10, "i387_ext", kCore, ""}, {"st7", 10, "i387_ext", kCore, ""},
    {"fctrl", 4, "int", kCore, "float"}, {"fstat", 4, "int", kCore, "float"}, {"ftag", 4, "int", kCore, "float"},
    {"fiseg", 4, "int", kCore, "float"}, {"fioff", 4, "int", kCore, "float"}, {"foseg", 4, "int", kCore, "float"},
    {"fooff", 4, "int", kCore, "float"}, {"fop", 4, "int", kCore, "float"},
    {"xmm0", 16, "vec128", kSse, ""}, {"xmm1", 16, "vec128", kSse, ""}, {"xmm2", 16, "vec128", kSse, ""},
    {"xmm3", 16, "vec128", kSse, ""}, {"xmm4", 16, "vec128", kSse, ""}, {"xmm5", 16, "vec128", kSse, ""},
    {"xmm6", 16, "vec128", kSse, ""}, {"xmm7", 16, "vec128", kSse, ""}, {"xmm8", 16, "vec128", kSse, ""},
    {"xmm9", 16, "vec128", kSse, ""}, {"xmm10", 16, "vec128", kSse, ""}, {"xmm11", 16, "vec128", kSse, ""},
    {"xmm12", 16, "vec128", kSse, ""}, {"xmm13", 16, "vec128", kSse, ""}, {"xmm14", 16, "vec128", kSse, ""},
    {"xmm15", 16, "vec128", kSse, ""},
    {"mxcsr", 4, "int", kSse, "vector"},
    {"fs_base", 8, "int", kSegments, ""}, {"gs_base", 8, "int", kSegments, ""},
    {"cr0", 8, "int64", kControl, "system"}, {"cr2", 8, "int64", kControl, "system"},
    {"cr3", 8, "int64", kControl, "system"}, {"cr4", 8, "int64", kControl, "system"},
    {"cr8", 8, "int64", kControl, "system"}, {"efer", 8, "int64", kControl, "system"},
}};

// i386's general-register order, as indices into X86Registers::gpr (rax rbx rcx rdx rsi rdi rbp rsp).
constexpr std::array<unsigned, 8> kI386Gpr {0, 2, 3, 1, 7, 6, 4, 5};

template<class T>
std::span<std::uint8_t> bytes_of(T& value, unsigned count)
{
    static_assert(std::is_trivially_copyable_v<T>);
    return {reinterpret_cast<std::uint8_t*>(&value), count}; // little-endian host: the low bytes first
}
} // namespace

std::span<const RegisterSlot> register_layout(CpuMode mode)
{
    if (mode == CpuMode::Long64)
        return kAmd64;
    return kI386;
}

std::optional<std::span<std::uint8_t>> register_storage(X86Registers& r, CpuMode mode, unsigned n)
{
    const auto layout = register_layout(mode);
    if (n >= layout.size())
        return std::nullopt;
    const unsigned size = layout[n].bytes;
    if (mode == CpuMode::Protected32) {
        if (n < 8)
            return bytes_of(r.gpr[kI386Gpr[n]], size);
        if (n == 8)
            return bytes_of(r.rip, size);
        if (n == 9)
            return bytes_of(r.eflags, size);
        if (n < 16)
            return bytes_of(r.segments[n - 10], size);
        if (n < 24)
            return std::span<std::uint8_t>(r.st[n - 16]);
        if (n < 32)
            return bytes_of(r.x87_control[n - 24], size);
        if (n < 40)
            return std::span<std::uint8_t>(r.xmm[n - 32]);
        if (n == 40)
            return bytes_of(r.mxcsr, size);
        constexpr std::array<unsigned, 4> kControl32 {0, 1, 2, 3}; // cr0 cr2 cr3 cr4
        return bytes_of(r.control[kControl32[n - 41]], size);
    }
    if (n < 16)
        return bytes_of(r.gpr[n], size);
    if (n == 16)
        return bytes_of(r.rip, size);
    if (n == 17)
        return bytes_of(r.eflags, size);
    if (n < 24)
        return bytes_of(r.segments[n - 18], size);
    if (n < 32)
        return std::span<std::uint8_t>(r.st[n - 24]);
    if (n < 40)
        return bytes_of(r.x87_control[n - 32], size);
    if (n < 56)
        return std::span<std::uint8_t>(r.xmm[n - 40]);
    if (n == 56)
        return bytes_of(r.mxcsr, size);
    if (n == 57)
        return bytes_of(r.fs_base, size);
    if (n == 58)
        return bytes_of(r.gs_base, size);
    return bytes_of(r.control[n - 59], size);
}

bool register_is_writable(CpuMode mode, unsigned n)
{
    // fiseg and foseg: KVM's FPU state (struct kvm_fpu) keeps only the offsets of the last x87
    // instruction and operand, so their segments read as 0 and cannot be set.
    const unsigned x87_control = mode == CpuMode::Protected32 ? 24 : 32; // fctrl
    return n < register_layout(mode).size() && n != x87_control + 3 && n != x87_control + 5;
}

} // namespace minivmm::gdb
