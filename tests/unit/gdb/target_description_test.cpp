// The target descriptions ("Debugging with GDB" appendix G.5.9 "i386 Features"): the registers
// they list are the layout `g` sends, number for number, in the features gdb requires.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "vmm/gdb/target_description.hpp"
#include "vmm/gdb/x86_register_layout.hpp"

using namespace minivmm::gdb;

TEST_CASE("G.5.9: each register of the layout is in the description with its number and size", "[gdb]")
{
    for (const CpuMode mode : {CpuMode::Protected32, CpuMode::Long64}) {
        const std::string xml = target_description_xml(mode);
        const auto layout = register_layout(mode);
        std::size_t regs = 0;
        for (std::size_t at = xml.find("<reg "); at != std::string::npos; at = xml.find("<reg ", at + 1))
            ++regs;
        CHECK(regs == layout.size());
        for (std::size_t n = 0; n < layout.size(); ++n) {
            const std::string wanted = fmt::format("<reg name=\"{}\" bitsize=\"{}\"", layout[n].name, layout[n].bytes * 8);
            const auto at = xml.find(wanted);
            INFO(wanted);
            REQUIRE(at != std::string::npos);
            CHECK(xml.find(fmt::format("regnum=\"{}\"", n), at) == xml.find("regnum=", at));
        }
        CHECK(xml.find("<feature name=\"org.gnu.gdb.i386.core\">") != std::string::npos);
        CHECK(xml.find("<feature name=\"org.gnu.gdb.i386.sse\">") != std::string::npos);
        CHECK(xml.find("<union id=\"vec128\">") != std::string::npos);
    }
    CHECK(target_description_xml(CpuMode::Long64).find("<architecture>i386:x86-64</architecture>") != std::string::npos);
    CHECK(target_description_xml(CpuMode::Protected32).find("<architecture>i386</architecture>") != std::string::npos);
}

TEST_CASE("G.5.9: the i386 core registers come first in gdb's order (eax ecx edx ebx ... eip eflags cs)", "[gdb]")
{
    const auto layout = register_layout(CpuMode::Protected32);
    const char* expected[] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags", "cs", "ss",
        "ds", "es", "fs", "gs", "st0"};
    for (std::size_t n = 0; n < std::size(expected); ++n)
        CHECK(layout[n].name == expected[n]);
    X86Registers r;
    r.gpr[3] = 0xaabbccdd; // rdx
    const auto edx = register_storage(r, CpuMode::Protected32, 2);
    REQUIRE(edx);
    CHECK(edx->size() == 4);
    CHECK((*edx)[0] == 0xdd);
    CHECK_FALSE(register_storage(r, CpuMode::Protected32, static_cast<unsigned>(layout.size())));
}
