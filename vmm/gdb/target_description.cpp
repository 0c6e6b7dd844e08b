// Target description XML (target_description.hpp; "Debugging with GDB" appendix G.2 "Target
// Description Format").
#include "vmm/gdb/target_description.hpp"

#include <fmt/format.h>

#include "vmm/gdb/x86_register_layout.hpp"

namespace minivmm::gdb {

namespace {
// The vector type gdb's own 32bit-sse.xml / 64bit-sse.xml give the xmm registers.
constexpr std::string_view kVec128Types = R"(    <vector id="v4f" type="ieee_single" count="4"/>
    <vector id="v2d" type="ieee_double" count="2"/>
    <vector id="v16i8" type="int8" count="16"/>
    <vector id="v8i16" type="int16" count="8"/>
    <vector id="v4i32" type="int32" count="4"/>
    <vector id="v2i64" type="int64" count="2"/>
    <union id="vec128">
      <field name="v4_float" type="v4f"/>
      <field name="v2_double" type="v2d"/>
      <field name="v16_int8" type="v16i8"/>
      <field name="v8_int16" type="v8i16"/>
      <field name="v4_int32" type="v4i32"/>
      <field name="v2_int64" type="v2i64"/>
      <field name="uint128" type="uint128"/>
    </union>
)";
} // namespace

std::string target_description_xml(CpuMode mode)
{
    std::string xml = R"(<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
)";
    xml += fmt::format("  <architecture>{}</architecture>\n", mode == CpuMode::Long64 ? "i386:x86-64" : "i386");
    const auto layout = register_layout(mode);
    std::string_view open_feature;
    for (std::size_t number = 0; number < layout.size(); ++number) {
        const RegisterSlot& slot = layout[number];
        if (slot.feature != open_feature) {
            if (!open_feature.empty())
                xml += "  </feature>\n";
            xml += fmt::format("  <feature name=\"{}\">\n", slot.feature);
            if (slot.feature == "org.gnu.gdb.i386.sse")
                xml += kVec128Types;
            open_feature = slot.feature;
        }
        xml += fmt::format("    <reg name=\"{}\" bitsize=\"{}\" type=\"{}\" regnum=\"{}\"{}/>\n", slot.name,
            slot.bytes * 8, slot.type, number,
            slot.group.empty() ? std::string() : fmt::format(" group=\"{}\"", slot.group));
    }
    xml += "  </feature>\n</target>\n";
    return xml;
}

} // namespace minivmm::gdb
