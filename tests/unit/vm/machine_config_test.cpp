// MachineConfig (vmm/vm/machine_config.hpp): its vmstate section round-trips, every rule a
// hostile section breaks is refused with a SnapshotError, and a restore refuses a missing or
// resized disk.
#include <catch2/catch.hpp>

#include <fstream>

#include "tests/unit/disk/temp_dir.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/vm/machine_config.hpp"

using namespace minivmm;
using namespace minivmm::vm;
using minivmm::snapshot::SnapshotError;
using minivmm::snapshot::StateReader;
using minivmm::snapshot::StateWriter;

namespace {
MachineConfig example()
{
    MachineConfig machine;
    machine.cpus = 4;
    machine.ram = layout::ram_ranges(256 * layout::MiB);
    machine.kernel_path = "/boot/guest.elf";
    machine.cmdline = "console=ttyS0 memstamp.writes=5";
    machine.cpu_template = "software-kvm";
    machine.disks.push_back({"path=/d/a.img,id=data,readonly=on", "data", "/d/a.img", 1 << 20, 2049, 77});
    machine.nets.push_back("tap=tap0,mac=02:00:00:00:00:01");
    machine.cpu_limit = 1.5;
    machine.vcpu_priorities = {1, 2, 3, 4};
    machine.cpu_period_ns = 100'000'000;
    machine.memory_limit = 512 * layout::MiB;
    machine.memory_reserve = 64 * layout::MiB;
    return machine;
}

std::vector<std::uint8_t> encode(const MachineConfig& machine)
{
    StateWriter out;
    write_machine_config(out, machine);
    return out.take();
}

MachineConfig decode(const std::vector<std::uint8_t>& bytes)
{
    StateReader in(bytes, "machine config");
    return read_machine_config(in);
}
} // namespace

TEST_CASE("machine config: every field survives the round trip", "[vm][snapshot]")
{
    const MachineConfig machine = example();
    const MachineConfig back = decode(encode(machine));
    CHECK(back.cpus == 4);
    CHECK(back.ram == machine.ram);
    CHECK(back.kernel_path == machine.kernel_path);
    CHECK(back.cmdline == machine.cmdline);
    CHECK(back.cpu_template == machine.cpu_template);
    REQUIRE(back.disks.size() == 1);
    CHECK(back.disks[0].spec == machine.disks[0].spec);
    CHECK(back.disks[0].id == "data");
    CHECK(back.disks[0].size == 1u << 20);
    CHECK(back.disks[0].device == 2049u);
    CHECK(back.disks[0].inode == 77u);
    CHECK(back.nets == machine.nets);
    CHECK(back.cpu_limit == 1.5);
    CHECK(back.vcpu_priorities == machine.vcpu_priorities);
    CHECK(back.cpu_period_ns == machine.cpu_period_ns);
    CHECK(back.memory_limit == machine.memory_limit);
    CHECK(back.memory_reserve == machine.memory_reserve);
    MachineConfig plain;
    plain.ram = layout::ram_ranges(4 * layout::MiB);
    const MachineConfig plain_back = decode(encode(plain));
    CHECK_FALSE(plain_back.cpu_limit);
    CHECK_FALSE(plain_back.memory_limit);
}

TEST_CASE("machine config: a section minivmm could not have written is refused", "[vm][snapshot]")
{
    SECTION("no vCPU, or more than xAPIC ids allow")
    {
        for (unsigned cpus : {0u, 255u, 100000u}) {
            MachineConfig machine = example();
            machine.cpus = cpus;
            machine.vcpu_priorities.clear();
            CHECK_THROWS_AS(decode(encode(machine)), SnapshotError);
        }
    }
    SECTION("RAM where devices live, or no RAM")
    {
        MachineConfig machine = example();
        machine.ram = {{0, 3 * layout::GiB + layout::MiB}}; // across the MMIO hole
        CHECK_THROWS_WITH(decode(encode(machine)), Catch::Contains("RAM layout"));
        machine.ram.clear();
        CHECK_THROWS_WITH(decode(encode(machine)), Catch::Contains("RAM layout"));
        machine.ram = {{0, 4 * layout::MiB + 1}};
        CHECK_THROWS_WITH(decode(encode(machine)), Catch::Contains("RAM layout"));
    }
    SECTION("more devices than slots")
    {
        MachineConfig machine = example();
        machine.nets.assign(11, "tap=t");
        CHECK_THROWS_WITH(decode(encode(machine)), Catch::Contains("net count"));
    }
    SECTION("a CPU limit that is not a positive number")
    {
        MachineConfig machine = example();
        machine.cpu_limit = -1;
        CHECK_THROWS_WITH(decode(encode(machine)), Catch::Contains("CPU limit"));
    }
    SECTION("truncated anywhere, or bytes left over")
    {
        const auto bytes = encode(example());
        for (std::size_t size = 0; size < bytes.size(); ++size)
            CHECK_THROWS_AS(decode({bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size)}), SnapshotError);
        auto longer = bytes;
        longer.push_back(0);
        CHECK_THROWS_WITH(decode(longer), Catch::Contains("left over"));
    }
    SECTION("another layout")
    {
        auto bytes = encode(example());
        bytes[0] = 2;
        CHECK_THROWS_WITH(decode(bytes), Catch::Contains("layout 2"));
    }
}

TEST_CASE("machine config: a restore finds its disks as they were, or at the path given", "[vm][snapshot]")
{
    testing::TempDir dir;
    const std::string image = dir.file("a.img");
    std::ofstream(image) << std::string(4096, 'x');
    MachineConfig machine;
    machine.ram = layout::ram_ranges(64 * layout::MiB);
    machine.disks.push_back({"path=" + image + ",id=data,serial=s1", "data", image, 4096, 0, 0});

    const VmConfig config = restore_vm_config(machine, {});
    CHECK(config.memory_bytes == 64 * layout::MiB);
    CHECK(config.disks == std::vector<std::string> {"path=" + image + ",id=data,serial=s1"});

    const std::string moved = dir.file("b.img");
    std::filesystem::rename(image, moved);
    CHECK_THROWS_WITH(restore_vm_config(machine, {}), "disk data: " + image + ": No such file or directory");
    const VmConfig overridden = restore_vm_config(machine, RestoreOverrides {{{"data", moved}}});
    CHECK(overridden.disks == std::vector<std::string> {"path=" + moved + ",id=data,serial=s1"});
    CHECK_THROWS_WITH(restore_vm_config(machine, RestoreOverrides {{{"other", moved}}}),
        Catch::Contains("the snapshot has no disk with that id"));

    std::filesystem::resize_file(moved, 8192);
    CHECK_THROWS_WITH(restore_vm_config(machine, RestoreOverrides {{{"data", moved}}}),
        "disk data: " + moved + " is 8192 bytes, the snapshot was taken with 4096 bytes");
}

TEST_CASE("machine config: disk_spec_with_path replaces path= and keeps the other keys in order", "[vm][snapshot]")
{
    CHECK(disk_spec_with_path("path=/a,readonly=on,id=x", "/b") == "path=/b,readonly=on,id=x");
    CHECK(disk_spec_with_path("id=x,path=/a", "/b") == "path=/b,id=x");
    CHECK(disk_spec_with_path("path=/a", "/b") == "path=/b");
}
