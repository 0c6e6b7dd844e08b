// UnixListener (vmm/api/unix_listener.hpp): mode 0600, never replaces a file that is not a stale
// socket, removed again at the end (and only if still ours).
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/unit/disk/temp_dir.hpp"
#include "vmm/api/unix_listener.hpp"
#include "vmm/base/sys_error.hpp"

using minivmm::UserError;
using minivmm::api::UnixListener;

namespace {
mode_t mode_of(const std::string& path)
{
    struct stat status {};
    REQUIRE(::lstat(path.c_str(), &status) == 0);
    return status.st_mode;
}

// A socket file nobody listens on: what a killed VM leaves behind.
void make_stale_socket(const std::string& path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address {};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);
}
} // namespace

TEST_CASE("unix listener: the socket is 0600 and removed at the end", "[api][socket]")
{
    minivmm::testing::TempDir dir;
    const std::string path = dir.file("api.sock");
    {
        const mode_t old_umask = ::umask(0);
        UnixListener listener = UnixListener::bind(path);
        ::umask(old_umask);
        CHECK(S_ISSOCK(mode_of(path)));
        CHECK((mode_of(path) & 0777) == 0600);
        CHECK(listener.fd() >= 0);
    }
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("unix listener: a regular file or directory at the path is never replaced", "[api][socket]")
{
    minivmm::testing::TempDir dir;
    const std::string file = dir.file("precious");
    std::ofstream(file) << "data";
    CHECK_THROWS_WITH(UnixListener::bind(file), Catch::Contains("exists and is not a socket"));
    CHECK(std::filesystem::file_size(file) == 4);
    CHECK_THROWS_AS(UnixListener::bind(dir.file("")), UserError);
}

TEST_CASE("unix listener: a live socket is refused, a stale one replaced", "[api][socket]")
{
    minivmm::testing::TempDir dir;
    const std::string path = dir.file("api.sock");
    {
        UnixListener live = UnixListener::bind(path);
        CHECK_THROWS_WITH(UnixListener::bind(path), Catch::Contains("another process is serving"));
        CHECK(std::filesystem::exists(path)); // the refused bind did not remove the live one
    }
    make_stale_socket(path);
    UnixListener replaced = UnixListener::bind(path);
    CHECK(S_ISSOCK(mode_of(path)));
}

TEST_CASE("unix listener: a path that does not fit sun_path is a clear error", "[api][socket]")
{
    CHECK_THROWS_WITH(UnixListener::bind("/tmp/" + std::string(200, 'x')), Catch::Contains("the path must be 1 to 107 bytes"));
}

TEST_CASE("unix listener: a path replaced by someone else is not removed", "[api][socket]")
{
    minivmm::testing::TempDir dir;
    const std::string path = dir.file("api.sock");
    {
        UnixListener listener = UnixListener::bind(path);
        REQUIRE(::unlink(path.c_str()) == 0);
        std::ofstream(path) << "theirs";
    }
    CHECK(std::filesystem::exists(path));
}
