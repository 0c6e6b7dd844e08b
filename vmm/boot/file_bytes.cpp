// Reading whole input files for the boot loaders (see file_bytes.hpp).
#include "vmm/boot/file_bytes.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::boot {

std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& path, std::string_view what)
{
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
        throw UserError(fmt::format("{} {}: is a directory, not a file", what, path.string()));
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw UserError(fmt::format("{} {}: cannot open: {}", what, path.string(), std::strerror(errno)));
    std::vector<std::uint8_t> bytes;
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    if (end > 0) {
        bytes.resize(static_cast<std::size_t>(end));
        in.seekg(0, std::ios::beg);
        in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!in)
            throw UserError(fmt::format("{} {}: read failed: {}", what, path.string(), std::strerror(errno)));
    }
    return bytes;
}

} // namespace minivmm::boot
