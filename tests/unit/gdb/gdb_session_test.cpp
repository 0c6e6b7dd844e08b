// The gdb stub's packet interpreter against a fake target ("Debugging with GDB" appendix E.3
// "Packets", E.4 "Stop Reply Packets", E.5 "General Query Packets").
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "tests/support/fake_gdb_target.hpp"
#include "vmm/gdb/gdb_session.hpp"
#include "vmm/gdb/rsp_packet.hpp"
#include "vmm/gdb/x86_register_layout.hpp"

using namespace minivmm::gdb;
using minivmm::testing::FakeGdbTarget;

namespace {
std::string fmt_hex(std::size_t value) { return fmt::format("{:x}", value); }

struct Fixture {
    FakeGdbTarget target;
    GdbSession session {target, StopEvent {StopEvent::Kind::Signal, 0, 5}};

    explicit Fixture(unsigned vcpus = 2, CpuMode mode = CpuMode::Protected32)
        : target(vcpus, mode)
    {
    }
    std::string reply(std::string_view packet)
    {
        const auto outcome = session.handle(packet);
        REQUIRE(outcome.reply.has_value());
        return *outcome.reply;
    }
};
} // namespace

TEST_CASE("E.3 `g`: i386 registers in gdb's order, little-endian, as many bytes as the layout", "[gdb]")
{
    Fixture f;
    f.target.registers[0].gpr[1] = 0x01020304; // rbx -> ebx, the 4th i386 register
    const std::string g = f.reply("g");
    std::size_t bytes = 0;
    for (const auto& slot : register_layout(CpuMode::Protected32))
        bytes += slot.bytes;
    CHECK(g.size() == bytes * 2);
    CHECK(g.substr(0, 8) == "00001111");  // eax = 0x11110000
    CHECK(g.substr(24, 8) == "04030201"); // ebx
    CHECK(g.substr(64, 8) == "00100000"); // eip = 0x1000
    CHECK(g.substr(72, 8) == "02020000"); // eflags
}

TEST_CASE("E.3 `p`/`P`: one register read and written, segment and control registers too; bad numbers are errors",
    "[gdb]")
{
    Fixture f;
    CHECK(f.reply("p8") == "00100000"); // eip
    CHECK(f.reply("P8=78563412") == "OK");
    CHECK(f.target.registers[0].rip == 0x12345678);
    const unsigned writes = f.target.register_writes;
    CHECK(f.reply("Pa=08000000") == "OK"); // cs unchanged: nothing to write
    CHECK(f.target.register_writes == writes);
    CHECK(f.reply("Pd=00000000") == "OK"); // es: the target loads the selector's descriptor
    CHECK(f.target.registers[0].segments[3] == 0);
    CHECK(f.reply("P2b=00100000") == "OK"); // cr3
    CHECK(f.target.registers[0].control[2] == 0x1000);
    CHECK(f.reply("P28=a01f0000") == "OK"); // mxcsr
    CHECK(f.target.registers[0].mxcsr == 0x1fa0);
    CHECK(f.reply("P1b=01000000") == "E01"); // fiseg: the host does not keep it
    CHECK(f.reply("P1b=00000000") == "OK");  // ... but writing back what was read is fine
    f.target.refuse_writes = true;           // the CPU would not take it (a bad selector, CR combination)
    CHECK(f.reply("P2b=00200000") == "E05");
    CHECK(f.target.registers[0].control[2] == 0x1000);
    f.target.refuse_writes = false;
    CHECK(f.reply("P8=1234") == "E01");     // wrong size
    CHECK(f.reply("p999") == "E01");
    CHECK(f.reply("pzz") == "E01");
    CHECK(f.reply("P8") == "E01");
}

TEST_CASE("E.3 `G`: writes what `g` read back, segments included, and refuses a changed fiseg", "[gdb]")
{
    Fixture f;
    std::string g = f.reply("g");
    g.replace(0, 8, "efbeadde"); // eax
    CHECK(f.reply("G" + g) == "OK");
    CHECK(f.target.registers[0].gpr[0] == 0xdeadbeef);
    g.replace(80, 8, "18000000"); // cs
    CHECK(f.reply("G" + g) == "OK");
    CHECK(f.target.registers[0].segments[0] == 0x18);
    // fiseg: after eax..gs (16 x 4 bytes), st0-7 (8 x 10), fctrl fstat ftag (3 x 4).
    g.replace(2 * (16 * 4 + 8 * 10 + 3 * 4), 8, "01000000");
    CHECK(f.reply("G" + g) == "E01");
    CHECK(f.reply("G0") == "E01"); // odd hex
}

TEST_CASE("x86-64 layout: rip is register 16 and eight bytes", "[gdb]")
{
    Fixture f(1, CpuMode::Long64);
    f.target.registers[0].rip = 0xffffffff81000000;
    CHECK(f.reply("p10") == "00000081ffffffff");
}

TEST_CASE("E.3 `Hg` selects the vCPU whose registers `g` reads; thread ids are vCPU + 1", "[gdb]")
{
    Fixture f;
    CHECK(f.reply("Hg2") == "OK");
    CHECK(f.reply("p0") == "01001111"); // vCPU 1's eax
    CHECK(f.reply("qC") == "QC2");
    CHECK(f.reply("Hg3") == "E01"); // no such vCPU
    CHECK(f.reply("Hg-1") == "E01");
    CHECK(f.reply("Hg0") == "OK");  // any: keeps the current one
    CHECK(f.reply("T1") == "OK");
    CHECK(f.reply("T3") == "E01");
    CHECK(f.reply("qfThreadInfo") == "m1,2");
    CHECK(f.reply("qsThreadInfo") == "l");
    CHECK(f.reply("qThreadExtraInfo,2") == to_hex(std::string_view("vCPU 1")));
}

TEST_CASE("E.3 `m`/`M`/`X`: memory through the target; unmapped memory is an error reply", "[gdb]")
{
    Fixture f;
    CHECK(f.reply("M1000,4:deadbeef") == "OK");
    CHECK(f.reply("m1000,4") == "deadbeef");
    CHECK(f.reply("m0,4") == "E14");
    CHECK(f.reply("m2ffe,4") == "0000"); // E.3: a partial read gives the bytes that could be read
    CHECK(f.reply("M2ffe,4:01020304") == "E14");
    CHECK(f.reply("X1000,0:") == "OK");  // gdb's probe for X
    CHECK(f.reply("X1000,3:" + escape_binary(std::string("#}*", 3))) == "OK");
    CHECK(f.reply("m1000,3") == "237d2a");
    CHECK(f.reply("X1000,2:a") == "E01");   // length does not match the data
    CHECK(f.reply("M1000,2:abc") == "E01");  // odd hex
    CHECK(f.reply("mffffffffffffffffff,1") == "E01"); // over 64 bits
    CHECK(f.reply("m1000") == "E01");
    CHECK(f.reply("m1000,0").empty());
    // A huge length is bounded by the packet size, not allocated.
    const std::string big = f.reply("m1000,ffffffffffffffff");
    CHECK(big.size() <= kMaxPacketSize);
}

TEST_CASE("E.3 `Z`/`z`: breakpoint types 0-4 reach the target; unsupported is an empty reply", "[gdb]")
{
    Fixture f;
    CHECK(f.reply("Z0,1000,1") == "OK");
    CHECK(f.reply("Z1,2000,1") == "OK");
    CHECK(f.reply("Z2,1004,4") == "OK");
    CHECK(f.reply("Z3,1004,4").empty());
    CHECK(f.reply("Z0,5000,1") == "E14");
    CHECK(f.reply("Z5,1000,1") == "E01");
    CHECK(f.reply("Z0,1000") == "E01");
    CHECK(f.reply("Z0,1000,1;X1,0").empty()); // conditions are not supported
    CHECK(f.target.breakpoints.size() == 3);
    CHECK(f.reply("z0,1000,1") == "OK");
    CHECK(f.target.breakpoints.size() == 2);
}

TEST_CASE("E.3 `c`/`s`/`vCont`: all continue; a step runs only the stepped vCPU", "[gdb]")
{
    Fixture f;
    using A = ResumeAction;
    auto outcome = f.session.handle("c");
    CHECK(outcome.resumed);
    CHECK_FALSE(outcome.reply);
    CHECK(f.target.resumes.back() == std::vector {A::Continue, A::Continue});

    CHECK(f.reply("Hc2") == "OK");
    CHECK(f.session.handle("s").resumed);
    CHECK(f.target.resumes.back() == std::vector {A::Stay, A::Step});

    CHECK(f.reply("vCont?") == "vCont;c;C;s;S");
    CHECK(f.session.handle("vCont;s:1;c").resumed);
    CHECK(f.target.resumes.back() == std::vector {A::Step, A::Stay});
    CHECK(f.session.handle("vCont;c:2").resumed);
    CHECK(f.target.resumes.back() == std::vector {A::Stay, A::Continue});
    CHECK(f.session.handle("vCont;C05").resumed);
    CHECK(f.target.resumes.back() == std::vector {A::Continue, A::Continue});

    const std::size_t before = f.target.resumes.size();
    CHECK(f.reply("vCont;x") == "E01");
    CHECK(f.reply("vCont;c:9") == "E01");
    CHECK(f.reply("c12zz") == "E01");
    CHECK(f.target.resumes.size() == before);

    CHECK(f.session.handle("c2000").resumed); // resume at an address: the Hc thread's (vCPU 1)
    CHECK(f.target.registers[1].rip == 0x2000);
}

TEST_CASE("E.4: stop replies name the reason and the thread, and make it current", "[gdb]")
{
    Fixture f;
    CHECK(f.reply("?") == "T05thread:1;");
    (void)f.reply("qSupported:multiprocess+;swbreak+;hwbreak+");
    CHECK(f.session.stop_reply({StopEvent::Kind::SoftwareBreak, 1, 5}) == "T05swbreak:;thread:2;");
    CHECK(f.reply("qC") == "QC2");
    CHECK(f.session.stop_reply({StopEvent::Kind::HardwareBreak, 0, 5}) == "T05hwbreak:;thread:1;");
    CHECK(f.session.stop_reply({StopEvent::Kind::Watch, 0, 5, BreakpointType::WriteWatch, 0x1234}) ==
        "T05watch:1234;thread:1;");
    CHECK(f.session.stop_reply({StopEvent::Kind::Signal, 1, 2}) == "T02thread:2;");
    StopEvent exited {StopEvent::Kind::Exited};
    exited.exit_status = 42;
    CHECK(f.session.stop_reply(exited) == "W2a");
    CHECK(f.session.stop_reply({StopEvent::Kind::Killed}) == "X09");
}

TEST_CASE("E.5: qSupported, the target description in pieces, no-ack mode", "[gdb]")
{
    Fixture f;
    const std::string supported = f.reply("qSupported:swbreak+");
    CHECK(supported.find("qXfer:features:read+") != std::string::npos);
    CHECK(supported.find("PacketSize=4000") != std::string::npos);
    std::string xml;
    for (std::size_t offset = 0;;) {
        const std::string part = f.reply("qXfer:features:read:target.xml:" + fmt_hex(offset) + ",100");
        REQUIRE_FALSE(part.empty());
        const auto data = unescape_binary(part.substr(1));
        REQUIRE(data);
        xml += *data;
        offset += data->size();
        if (part[0] == 'l')
            break;
        REQUIRE(part[0] == 'm');
    }
    CHECK(xml.find("<architecture>i386</architecture>") != std::string::npos);
    CHECK(xml.find("name=\"eip\"") != std::string::npos);
    CHECK(f.reply("qXfer:features:read:other.xml:0,100") == "E00");
    CHECK(f.reply("qXfer:features:read:target.xml:ffffff,100") == "E01");
    CHECK_FALSE(f.session.no_ack_mode());
    CHECK(f.reply("QStartNoAckMode") == "OK");
    CHECK(f.session.no_ack_mode());
    CHECK(f.reply("qAttached") == "1");
    CHECK(f.reply("qUnknownThing").empty());
    CHECK(f.reply("").empty());
    CHECK(f.reply("\x01\xff").empty());
}

TEST_CASE("E.3 `D` detaches and `k` kills, both ending the connection", "[gdb]")
{
    Fixture f;
    auto outcome = f.session.handle("D");
    CHECK(outcome.reply == "OK");
    CHECK(outcome.end);
    CHECK(f.target.detaches == 1);
    outcome = f.session.handle("k");
    CHECK(outcome.end);
    CHECK(f.target.kills == 1);
}
