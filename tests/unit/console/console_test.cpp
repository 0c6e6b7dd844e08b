// Unit tests for Console and ConsoleOutput with pipes (and a file) standing in for the terminal.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "devices/legacy/serial_16550.hpp"
#include "tests/support/fake_interrupt_line.hpp"
#include "vmm/base/event_loop.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/console/console.hpp"
#include "vmm/console/console_output.hpp"

using minivmm::Console;
using minivmm::ConsoleOutput;
using minivmm::ConsoleSpec;
using minivmm::EventLoop;
using minivmm::Serial16550;
using minivmm::UniqueFd;

namespace {

// Long enough never to expire when the event is due; the loop returns as soon as it is.
constexpr int kEventDueMs = 2000;

struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
    Pipe()
    {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read_end.reset(fds[0]);
        write_end.reset(fds[1]);
    }
    void send(const std::string& text) const
    {
        REQUIRE(::write(write_end.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    }
    std::string receive() const
    {
        char buffer[4096];
        const ssize_t count = ::read(read_end.get(), buffer, sizeof buffer);
        REQUIRE(count >= 0);
        return std::string(buffer, static_cast<std::size_t>(count));
    }
};

// A guest driver's view of the UART: FIFO on, reads RBR while LSR.DR is set.
struct Guest {
    minivmm::testing::FakeInterruptLine line;
    std::vector<std::uint8_t> transmitted;
    Serial16550 serial{line, [this](std::span<const std::uint8_t> bytes) {
                           transmitted.insert(transmitted.end(), bytes.begin(), bytes.end());
                       }};

    Guest() { out(2, 0x01); }
    void out(std::uint8_t reg, std::uint8_t value) { serial.write(reg, std::span(&value, 1)); }
    std::uint8_t in(std::uint8_t reg)
    {
        std::uint8_t value = 0;
        serial.read(reg, std::span(&value, 1));
        return value;
    }
    std::string read_all()
    {
        std::string text;
        while (in(5) & 0x01)
            text.push_back(static_cast<char>(in(0)));
        return text;
    }
};

const ConsoleSpec kStdio{ConsoleSpec::Kind::Stdio, {}};

} // namespace

TEST_CASE("console: stdin bytes reach the UART receiver")
{
    EventLoop loop;
    Guest guest;
    Pipe input;
    Console console(loop, kStdio, guest.serial, [] {}, {input.read_end.get(), STDERR_FILENO});
    input.send("hello");
    loop.run_once(kEventDueMs);
    CHECK(guest.read_all() == "hello");
    CHECK(console.input_open());
}

TEST_CASE("console: with the FIFO full, input waits in the host and stdin is not polled until the guest reads")
{
    EventLoop loop;
    Guest guest;
    Pipe input;
    Console console(loop, kStdio, guest.serial, [] {}, {input.read_end.get(), STDERR_FILENO});
    const std::string paste(40, 'p');
    input.send(paste);
    loop.run_once(kEventDueMs);
    CHECK(console.pending() == 40 - Serial16550::kFifoSize);

    input.send("later"); // readable, but the console must not read it while bytes are pending
    loop.run_once(0);
    CHECK(console.pending() == 40 - Serial16550::kFifoSize);

    std::string received = guest.read_all(); // the guest drains the FIFO: rx-space event
    loop.run_once(kEventDueMs);
    CHECK(console.pending() == 40 - 2 * Serial16550::kFifoSize);
    received += guest.read_all();
    loop.run_once(kEventDueMs); // the rest of the paste
    CHECK(console.pending() == 0);
    received += guest.read_all();
    loop.run_once(kEventDueMs); // stdin polled again: "later"
    received += guest.read_all();
    CHECK(received == paste + "later");
}

TEST_CASE("console: EOF on stdin stops reading it")
{
    EventLoop loop;
    Guest guest;
    Pipe input;
    Console console(loop, kStdio, guest.serial, [] {}, {input.read_end.get(), STDERR_FILENO});
    input.send("bye");
    input.write_end.reset();
    loop.run_once(kEventDueMs);
    loop.run_once(kEventDueMs);
    CHECK_FALSE(console.input_open());
    CHECK(guest.read_all() == "bye");
}

TEST_CASE("console: Ctrl-A x calls on_quit once and closes input")
{
    EventLoop loop;
    Guest guest;
    Pipe input;
    int quits = 0;
    Console console(loop, kStdio, guest.serial, [&] { ++quits; }, {input.read_end.get(), STDERR_FILENO});
    input.send("ab\x01x");
    loop.run_once(kEventDueMs);
    CHECK(quits == 1);
    CHECK_FALSE(console.input_open());
    CHECK(guest.read_all() == "ab");
    input.send("\x01x");
    loop.run_once(0);
    CHECK(quits == 1);
}

TEST_CASE("console: Ctrl-A h prints the help line on the error fd")
{
    EventLoop loop;
    Guest guest;
    Pipe input;
    Pipe error;
    Console console(loop, kStdio, guest.serial, [] {}, {input.read_end.get(), error.write_end.get()});
    input.send("\x01h");
    loop.run_once(kEventDueMs);
    CHECK(error.receive() == std::string(minivmm::EscapeFilter::kHelp) + "\n");
    CHECK(guest.read_all().empty());
}

TEST_CASE("console: a regular file as stdin (not pollable) is still fed with backpressure")
{
    char path[] = "/tmp/minivmm-console-input-XXXXXX";
    UniqueFd file(::mkstemp(path));
    REQUIRE(file);
    ::unlink(path);
    const std::string text(20, 'f');
    REQUIRE(::write(file.get(), text.data(), text.size()) == 20);
    REQUIRE(::lseek(file.get(), 0, SEEK_SET) == 0);

    EventLoop loop;
    Guest guest;
    Console console(loop, kStdio, guest.serial, [] {}, {file.get(), STDERR_FILENO});
    loop.run_once(kEventDueMs);
    std::string received = guest.read_all();
    CHECK(received.size() == Serial16550::kFifoSize);
    CHECK(console.input_open()); // 4 bytes wait for room; the file was not read to its end
    loop.run_once(kEventDueMs); // room: the 4 bytes go in, then the next read finds EOF
    received += guest.read_all();
    CHECK(received == text);
    CHECK_FALSE(console.input_open());
}

TEST_CASE("console: file and none modes read no input")
{
    EventLoop loop;
    Guest guest;
    Pipe input;
    input.send("ignored");
    for (const auto& spec : {ConsoleSpec{ConsoleSpec::Kind::None, {}}, ConsoleSpec{ConsoleSpec::Kind::File, "x"}}) {
        Console console(loop, spec, guest.serial, [] {}, {input.read_end.get(), STDERR_FILENO});
        loop.run_once(0);
        CHECK_FALSE(console.input_open());
        CHECK(guest.read_all().empty());
    }
}

TEST_CASE("console output: stdio mode writes guest output to the output fd")
{
    Pipe output;
    auto console_output = ConsoleOutput::create(kStdio, {}, output.write_end.get());
    minivmm::testing::FakeInterruptLine line;
    Serial16550 serial(line, console_output->sink());
    const std::uint8_t text[] = {'o', 'k'};
    serial.write(0, std::span(text, 1));
    serial.write(0, std::span(text + 1, 1));
    CHECK(output.receive() == "ok");
    CHECK(console_output->error() == 0);
}

TEST_CASE("console output: file mode truncates the file and writes guest output to it")
{
    char path[] = "/tmp/minivmm-console-output-XXXXXX";
    UniqueFd existing(::mkstemp(path));
    REQUIRE(existing);
    REQUIRE(::write(existing.get(), "old contents", 12) == 12);
    {
        auto output = ConsoleOutput::create({ConsoleSpec::Kind::File, path});
        const std::uint8_t text[] = {'n', 'e', 'w'};
        output->sink()(text);
    }
    char buffer[32] = {};
    UniqueFd reader(::open(path, O_RDONLY | O_CLOEXEC));
    REQUIRE(reader);
    CHECK(::read(reader.get(), buffer, sizeof buffer) == 3);
    CHECK(std::string(buffer) == "new");
    ::unlink(path);
}

TEST_CASE("console output: an unopenable file is a UserError naming the path")
{
    CHECK_THROWS_AS(ConsoleOutput::create({ConsoleSpec::Kind::File, "/nonexistent-dir/console.log"}),
                    minivmm::UserError);
    CHECK_THROWS_WITH(ConsoleOutput::create({ConsoleSpec::Kind::File, "/nonexistent-dir/console.log"}),
                      Catch::Contains("/nonexistent-dir/console.log"));
}

TEST_CASE("console output: a failed write discards later output instead of failing the guest")
{
    Pipe output;
    auto console_output = ConsoleOutput::create(kStdio, {}, output.write_end.get());
    output.read_end.reset();
    std::signal(SIGPIPE, SIG_IGN); // the VMM must ignore it: a closed stdout is EPIPE, not death
    const std::uint8_t byte = 'x';
    console_output->write(std::span(&byte, 1));
    CHECK(console_output->error() == EPIPE);
    console_output->write(std::span(&byte, 1)); // no throw, no block
}

TEST_CASE("console output: a write waiting on a full sink returns once the VM stops, dropping and counting the rest")
{
    Pipe output;
    REQUIRE(::fcntl(output.read_end.get(), F_SETPIPE_SZ, 4096) == 4096);
    auto console_output = ConsoleOutput::create(kStdio, {}, output.write_end.get());
    const std::vector<std::uint8_t> text(4096 + 100, 'x'); // one page more than the pipe holds
    std::atomic<bool> returned {false};
    std::thread writer([&] {
        console_output->write(text);
        returned = true;
    });
    // The writer fills the pipe and waits; nothing reads it.
    int pending = 0;
    for (int i = 0; i < 2000 && pending < 4096; ++i) {
        REQUIRE(::ioctl(output.read_end.get(), FIONREAD, &pending) == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(pending == 4096);
    CHECK_FALSE(returned.load());
    console_output->stop_waiting();
    writer.join(); // hangs here if the stop does not reach the waiting write
    CHECK(console_output->dropped_bytes() == 100);
    // Later output to the still-full sink is dropped at once, never waited for.
    console_output->write(std::span(text.data(), 10));
    CHECK(console_output->dropped_bytes() == 110);
    CHECK(console_output->error() == 0);
}

TEST_CASE("console output: after the stop, a sink that takes bytes still gets them")
{
    Pipe output;
    auto console_output = ConsoleOutput::create(kStdio, {}, output.write_end.get());
    console_output->stop_waiting();
    const std::uint8_t text[] = {'b', 'y', 'e'};
    console_output->write(text);
    CHECK(output.receive() == "bye");
    CHECK(console_output->dropped_bytes() == 0);
}

TEST_CASE("console output: file mode refuses one of the VM's disks, by identity, and leaves it untouched")
{
    char path[] = "/tmp/minivmm-console-disk-XXXXXX";
    UniqueFd disk(::mkstemp(path));
    REQUIRE(disk);
    REQUIRE(::write(disk.get(), "disk bytes", 10) == 10);
    const std::string link = std::string(path) + ".link";
    REQUIRE(::symlink(path, link.c_str()) == 0);
    CHECK_THROWS_WITH(ConsoleOutput::create({ConsoleSpec::Kind::File, link}, {"/nonexistent/other.img", path}),
        Catch::Contains(link) && Catch::Contains("disk"));
    struct stat info {};
    REQUIRE(::stat(path, &info) == 0);
    CHECK(info.st_size == 10);
    ::unlink(link.c_str());
    ::unlink(path);
}

TEST_CASE("console output: file mode refuses a file another process holds locked, and leaves it untouched")
{
    char path[] = "/tmp/minivmm-console-locked-XXXXXX";
    UniqueFd holder(::mkstemp(path));
    REQUIRE(holder);
    REQUIRE(::write(holder.get(), "disk bytes", 10) == 10);
    for (int lock : {LOCK_EX, LOCK_SH}) { // a writable disk of a running VM, a read-only one
        REQUIRE(::flock(holder.get(), lock | LOCK_NB) == 0);
        CHECK_THROWS_WITH(ConsoleOutput::create({ConsoleSpec::Kind::File, path}), Catch::Contains(path) && Catch::Contains("locked"));
        struct stat info {};
        REQUIRE(::stat(path, &info) == 0);
        CHECK(info.st_size == 10);
    }
    ::unlink(path);
}

TEST_CASE("console output: file mode keeps its file locked, so a VMM cannot open it as a disk meanwhile")
{
    char path[] = "/tmp/minivmm-console-held-XXXXXX";
    UniqueFd created(::mkstemp(path));
    REQUIRE(created);
    {
        auto output = ConsoleOutput::create({ConsoleSpec::Kind::File, path});
        UniqueFd other(::open(path, O_RDONLY | O_CLOEXEC));
        REQUIRE(other);
        CHECK(::flock(other.get(), LOCK_SH | LOCK_NB) != 0);
    }
    UniqueFd after(::open(path, O_RDONLY | O_CLOEXEC));
    CHECK(::flock(after.get(), LOCK_EX | LOCK_NB) == 0);
    ::unlink(path);
}
