// Unit tests for the Ctrl-A escape state machine.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "vmm/console/escape_filter.hpp"

using minivmm::EscapeFilter;
using Action = EscapeFilter::Action;

namespace {

EscapeFilter::Result run(EscapeFilter& filter, const std::string& input)
{
    return filter.filter(std::span(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()));
}

std::vector<std::uint8_t> bytes(const std::string& text)
{
    return {text.begin(), text.end()};
}

} // namespace

TEST_CASE("escape filter: ordinary bytes pass through unchanged")
{
    EscapeFilter filter;
    const auto result = run(filter, "ls -l\r\x03\x1b[A");
    CHECK(result.to_guest == bytes("ls -l\r\x03\x1b[A"));
    CHECK(result.action == Action::None);
}

TEST_CASE("escape filter: Ctrl-A x quits and drops what follows")
{
    EscapeFilter filter;
    const auto result = run(filter, "ab\x01xcd");
    CHECK(result.to_guest == bytes("ab"));
    CHECK(result.action == Action::Quit);
}

TEST_CASE("escape filter: Ctrl-A Ctrl-A sends one Ctrl-A")
{
    EscapeFilter filter;
    const auto result = run(filter, "a\x01\x01" "b");
    CHECK(result.to_guest == bytes("a\x01" "b"));
    CHECK(result.action == Action::None);
}

TEST_CASE("escape filter: Ctrl-A h asks for help and the input continues")
{
    EscapeFilter filter;
    const auto result = run(filter, "a\x01hb");
    CHECK(result.to_guest == bytes("ab"));
    CHECK(result.action == Action::ShowHelp);
}

TEST_CASE("escape filter: Ctrl-A then another byte drops the escape and passes the byte")
{
    EscapeFilter filter;
    const auto result = run(filter, "\x01q");
    CHECK(result.to_guest == bytes("q"));
    CHECK(result.action == Action::None);
}

TEST_CASE("escape filter: a sequence split across reads is recognised")
{
    EscapeFilter filter;
    auto first = run(filter, "abc\x01");
    CHECK(first.to_guest == bytes("abc"));
    CHECK(first.action == Action::None);
    CHECK(filter.pending_escape());
    auto second = run(filter, "x");
    CHECK(second.to_guest.empty());
    CHECK(second.action == Action::Quit);

    EscapeFilter other;
    run(other, "\x01");
    CHECK(run(other, "\x01").to_guest == bytes("\x01"));
    CHECK_FALSE(other.pending_escape());
}

TEST_CASE("escape filter: quit wins over help in the same read")
{
    EscapeFilter filter;
    CHECK(run(filter, "\x01h\x01x").action == Action::Quit);
}
