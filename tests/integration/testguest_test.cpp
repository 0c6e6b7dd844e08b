// The project's own PVH test guests on the real /dev/kvm: each checks one promise of the VMM
// (boot protocol, serial console, exit port, SMP bring-up, crash and timeout handling).
#include <fstream>

#include "tests/integration/vmm_harness.hpp"

using namespace minivmm::testing;

TEST_CASE("hello: the guest's serial output reaches stdout and a clean exit is status 0", "[guest]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("hello"), "--serial", "stdio"});
    CHECK(has_line(result.out, "Hello from the minivmm test guest"));
    CHECK(result.exit_status == 0);
}

TEST_CASE("exitcode: the byte written to the exit port is minivmm's exit status", "[guest]")
{
    if (!kvm_available())
        return;
    for (int status : {0, 1, 42, 200, 255}) {
        auto result = run_vmm({"--kernel", testguest("exitcode"), "--cmdline", "exitcode=" + std::to_string(status)});
        INFO("status " << status << " stdout: " << result.out << " stderr: " << result.err);
        CHECK(has_line(result.out, "exitcode: exiting with " + std::to_string(status)));
        CHECK(result.exit_status == status);
    }
}

TEST_CASE("bootinfo: the PVH start info carries the cmdline, the memory map and the initrd", "[guest]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string initrd = dir.file("initrd.bin");
    std::string content;
    for (int i = 0; i < 5000; ++i)
        content += static_cast<char>((i * 7 + 3) & 0xff);
    std::ofstream(initrd, std::ios::binary) << content;

    const std::string cmdline = "console=ttyS0 minivmm.test=bootinfo answer=42";
    auto result = run_vmm({"--kernel", testguest("bootinfo"), "--memory", "64M", "--cmdline", cmdline, "--initrd", initrd});
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    REQUIRE(result.exit_status == 0);
    CHECK(has_line(result.out, "cmdline: " + cmdline));
    // The e820-style map DESIGN.md prescribes for 64 MiB: low RAM, the EBDA (MP table), the
    // legacy hole, RAM from 1 MiB to the end.
    CHECK(has_line(result.out, "memmap: 4 entries"));
    CHECK(has_line(result.out, "memmap 0: addr=0x0000000000000000 size=0x000000000009fc00 type=1"));
    CHECK(has_line(result.out, "memmap 1: addr=0x000000000009fc00 size=0x0000000000000400 type=2"));
    CHECK(has_line(result.out, "memmap 2: addr=0x00000000000a0000 size=0x0000000000060000 type=2"));
    CHECK(has_line(result.out, "memmap 3: addr=0x0000000000100000 size=0x0000000003f00000 type=1"));
    CHECK(has_line(result.out, "initrd: size=5000 first=030a11181f262d343b424950575e656c"));
    CHECK(has_line(result.out, "bootinfo: done"));
}

TEST_CASE("bootinfo: without an initrd the guest sees no module", "[guest]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("bootinfo"), "--memory", "32M"});
    CHECK(result.exit_status == 0);
    CHECK(has_line(result.out, "initrd: none"));
    CHECK(has_line(result.out, "memmap 3: addr=0x0000000000100000 size=0x0000000001f00000 type=1"));
}

TEST_CASE("smp: every vCPU in the MP table starts through INIT/SIPI and reports its APIC id", "[guest][smp]")
{
    if (!kvm_available())
        return;
    for (int cpus : {1, 2, 4}) {
        auto result = run_vmm({"--kernel", testguest("smp"), "--cpus", std::to_string(cpus)}, std::chrono::seconds(120));
        INFO("cpus " << cpus << " stdout: " << result.out << " stderr: " << result.err);
        CHECK(result.exit_status == 0);
        CHECK(has_line(result.out, "smp: mp table lists " + std::to_string(cpus) + " cpus"));
        CHECK(has_line(result.out, "smp: all " + std::to_string(cpus) + " cpus online"));
        for (int id = 0; id < cpus; ++id)
            CHECK(result.out.find("apic-id " + std::to_string(id) + " online") != std::string::npos);
    }
}

TEST_CASE("triple-fault: a guest triple fault ends minivmm with the guest-crash status and a register dump", "[guest]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("triple-fault")});
    CHECK(result.exit_status == 121);
    CHECK(result.err.find("triple fault") != std::string::npos);
    CHECK(result.err.find("rip=") != std::string::npos);
    CHECK(result.out.find("triple-fault: loading an empty IDT") != std::string::npos);
}

TEST_CASE("--timeout ends a guest that spins forever with status 124", "[guest]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("spin"), "--timeout", "1.5"}, std::chrono::seconds(30));
    CHECK(result.exit_status == 124);
    CHECK(result.err.find("timeout") != std::string::npos);
    CHECK(result.elapsed >= std::chrono::milliseconds(1500));
}

TEST_CASE("--trace logs each VM exit and prints a summary per exit reason and per device", "[guest][trace]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("hello"), "--trace"});
    CHECK(result.exit_status == 0);
    CHECK(result.err.find("trace: vcpu0 io-out port=0x03f8") != std::string::npos);
    CHECK(result.err.find("VM exit summary") != std::string::npos);
    CHECK(result.err.find("serial-16550") != std::string::npos);
    CHECK(result.err.find("exit-port") != std::string::npos);
}

TEST_CASE("--serial file:PATH sends the guest's output to the file, not stdout", "[guest][serial]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string log = dir.file("console.log");
    auto result = run_vmm({"--kernel", testguest("hello"), "--serial", "file:" + log});
    CHECK(result.exit_status == 0);
    CHECK(result.out.find("Hello from") == std::string::npos);
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(has_line(text, "Hello from the minivmm test guest"));
}

TEST_CASE("--serial none discards the guest's output", "[guest][serial]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("hello"), "--serial", "none"});
    CHECK(result.exit_status == 0);
    CHECK(result.out.empty());
}

TEST_CASE("i8042-reset: the keyboard controller's reset command is a clean shutdown (status 0)", "[guest]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("i8042-reset")});
    CHECK(has_line(result.out, "i8042-reset: pulsing the reset line"));
    CHECK(result.out.find("still running") == std::string::npos);
    CHECK(result.exit_status == 0);
    CHECK(result.err.empty());
}

TEST_CASE("console: Ctrl-A x on stdin quits the VM with status 130", "[guest][serial]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("spin")}, std::chrono::seconds(30), "\x01x");
    CHECK(result.exit_status == 130);
}

TEST_CASE("console: Ctrl-A followed by another key does not quit", "[guest][serial]")
{
    if (!kvm_available())
        return;
    // The escape is dropped and the VM keeps running until the timeout ends it.
    auto result = run_vmm({"--kernel", testguest("spin"), "--timeout", "1"}, std::chrono::seconds(30), "\x01q\x01\x01");
    CHECK(result.exit_status == 124);
}

TEST_CASE("breakpoint: int3 traps to the guest's #BP handler with the saved EIP after the 0xCC", "[guest]")
{
    if (!kvm_available())
        return;
    // On software-emulated KVM hosts the host cannot emulate int3 and minivmm completes it;
    // on hardware KVM the CPU does it. Either way the guest must see a #BP trap.
    auto result = run_vmm({"--kernel", testguest("breakpoint")});
    CHECK(has_line(result.out, "breakpoint: handler ran 1 time(s), saved eip = int3 + 1"));
    CHECK(result.exit_status == 0);
    CHECK(result.err.empty());
}

namespace {
// The value of `reg` ("ebx", "ecx", ...) on the guest's "cpuid: <leaf> ..." line.
std::uint32_t cpuid_register(const std::string& out, const std::string& leaf, const std::string& reg)
{
    for (const auto& line : lines_of(out)) {
        if (line.rfind("cpuid: " + leaf + " ", 0) != 0)
            continue;
        const auto at = line.find(" " + reg + "=");
        if (at != std::string::npos)
            return static_cast<std::uint32_t>(std::stoul(line.substr(at + reg.size() + 2, 8), nullptr, 16));
    }
    FAIL("no cpuid " << leaf << " " << reg << " in: " << out);
    return 0;
}
} // namespace

TEST_CASE("cpuid: the guest sees its initial APIC id, the vCPU count and the KVM signature", "[guest][cpuid]")
{
    if (!kvm_available())
        return;
    auto result = run_vmm({"--kernel", testguest("cpuid"), "--cpus", "3"});
    REQUIRE(result.exit_status == 0);
    const std::uint32_t ebx = cpuid_register(result.out, "leaf1", "ebx");
    CHECK((ebx >> 24) == 0);          // SDM vol. 2A CPUID.01H:EBX[31:24], the boot vCPU
    CHECK(((ebx >> 16) & 0xff) == 3); // logical processors per package
    CHECK((cpuid_register(result.out, "leaf1", "ecx") >> 31) == 1); // hypervisor present
    CHECK(cpuid_register(result.out, "leaf40000000", "ebx") == 0x4b4d564b); // "KVMK"
}

TEST_CASE("cpuid: the software-kvm template hides CX16 from the guest where --cpu-template none shows it", "[guest][cpuid]")
{
    if (!kvm_available())
        return;
    auto plain = run_vmm({"--kernel", testguest("cpuid"), "--cpu-template", "none"});
    auto masked = run_vmm({"--kernel", testguest("cpuid"), "--cpu-template", "software-kvm"});
    REQUIRE(plain.exit_status == 0);
    REQUIRE(masked.exit_status == 0);
    constexpr std::uint32_t kCx16 = 1u << 13; // CPUID.01H:ECX.CMPXCHG16B
    if (!(cpuid_register(plain.out, "leaf1", "ecx") & kCx16))
        WARN("this host's KVM does not offer CX16 at all; only the masked side is checked");
    CHECK_FALSE(cpuid_register(masked.out, "leaf1", "ecx") & kCx16);
}

TEST_CASE("cpu template: an unknown --cpu-template is refused in one line", "[cli]")
{
    auto result = run_vmm({"--kernel", testguest("hello"), "--cpu-template", "fast"});
    CHECK(result.exit_status == 120);
    CHECK(lines_of(result.err).size() == 1);
    CHECK(result.err.find("fast") != std::string::npos);
}

TEST_CASE("mxcsr: ldmxcsr and stmxcsr keep the value through register, SIB and absolute operands", "[guest]")
{
    if (!kvm_available())
        return;
    // On software-emulated KVM hosts the host cannot run these and minivmm completes them
    // (decoding the memory operand itself); on hardware KVM the CPU does.
    auto result = run_vmm({"--kernel", testguest("mxcsr")});
    CHECK(has_line(result.out, "mxcsr: reset value 0x00001f80 ok"));
    CHECK(has_line(result.out, "mxcsr: register 0x00009fc0 ok"));
    CHECK(has_line(result.out, "mxcsr: stack 0x00007f80 ok"));
    CHECK(has_line(result.out, "mxcsr: absolute 0x00001f80 ok"));
    CHECK(result.exit_status == 0);
}
