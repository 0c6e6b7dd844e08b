// PanicWatcher: a Linux panic on the console is recognised whatever the chunking, and only the
// real markers count.
#include <catch2/catch.hpp>

#include <string_view>

#include "vmm/vm/panic_watcher.hpp"

using minivmm::vm::PanicWatcher;

namespace {
PanicWatcher::Event feed(PanicWatcher& watcher, std::string_view text)
{
    return watcher.feed({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}
} // namespace

TEST_CASE("panic watcher: the panic line starts a report that the end line completes", "[vm][panic]")
{
    PanicWatcher watcher;
    CHECK(feed(watcher, "[    1.0] Run /init as init process\r\n") == PanicWatcher::Event::None);
    CHECK(feed(watcher, "[    2.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\r\n")
        == PanicWatcher::Event::PanicStarted);
    CHECK(feed(watcher, "[    2.0] Call Trace:\r\n") == PanicWatcher::Event::None);
    CHECK(feed(watcher, "[    2.1] ---[ end Kernel panic - not syncing: Attempted to kill init! ]---\r\n")
        == PanicWatcher::Event::PanicEnded);
    REQUIRE(watcher.panic_line());
    CHECK(*watcher.panic_line() == "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b");
}

TEST_CASE("panic watcher: markers split across one-byte writes are still found", "[vm][panic]")
{
    PanicWatcher watcher;
    const std::string_view text = "Kernel panic - not syncing: VFS: Unable to mount root fs\n";
    PanicWatcher::Event last = PanicWatcher::Event::None;
    for (char c : text)
        last = std::max(last, feed(watcher, std::string_view(&c, 1)));
    CHECK(last == PanicWatcher::Event::PanicStarted);
}

TEST_CASE("panic watcher: ordinary output and an end line without a panic are not panics", "[vm][panic]")
{
    PanicWatcher watcher;
    CHECK(feed(watcher, "echo Kernel panic is a phrase\n") == PanicWatcher::Event::None);
    CHECK(feed(watcher, "---[ end Kernel panic - not syncing: x ]---\n") == PanicWatcher::Event::None);
    CHECK_FALSE(watcher.panic_line());
}
