// The vmstate container (vmstate_format.hpp): encoding, the validating decoder, and the atomic
// DIR/vmstate file. The byte layout is in docs/ARCHITECTURE.md, "Snapshots".
#include "vmm/snapshot/vmstate_format.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "vmm/base/exact_io.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/snapshot/crc32c.hpp"

namespace minivmm::snapshot {
namespace {

constexpr std::size_t kChecksumOffset = 24;
constexpr char kFileName[] = "vmstate";

bool known_type(std::uint32_t type)
{
    return type >= static_cast<std::uint32_t>(SectionType::MachineConfig)
        && type <= static_cast<std::uint32_t>(SectionType::Limiter);
}

std::uint64_t load_le(std::span<const std::uint8_t> bytes, std::size_t offset, std::size_t size)
{
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i)
        value |= std::uint64_t {bytes[offset + i]} << (8 * i);
    return value;
}

void store_le(std::vector<std::uint8_t>& bytes, std::size_t offset, std::uint64_t value, std::size_t size)
{
    for (std::size_t i = 0; i < size; ++i)
        bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

// The checksum covers the whole file with its own 4 bytes taken as zero.
std::uint32_t file_checksum(std::span<const std::uint8_t> file)
{
    constexpr std::uint8_t zeros[4] {};
    std::uint32_t crc = crc32c(0, file.first(kChecksumOffset));
    crc = crc32c(crc, zeros);
    return crc32c(crc, file.subspan(kChecksumOffset + 4));
}

[[noreturn]] void fail(std::string_view name, std::string_view message)
{
    throw SnapshotError(fmt::format("{}: {}", name, message));
}

Vmstate decode(std::span<const std::uint8_t> file, std::string_view name)
{
    const std::span<const std::uint8_t> magic(reinterpret_cast<const std::uint8_t*>(kVmstateMagic), 8);
    const std::size_t compared = std::min(file.size(), magic.size());
    if (!std::equal(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(compared), magic.begin()))
        fail(name, "not a minivmm snapshot (bad magic)");
    if (file.size() < kVmstateHeaderSize)
        fail(name, fmt::format("truncated: {} bytes, shorter than the {}-byte header", file.size(), kVmstateHeaderSize));

    // The version before anything else: a newer format may lay out the rest differently.
    const auto version = static_cast<std::uint32_t>(load_le(file, 8, 4));
    if (version != kVmstateVersion)
        fail(name, fmt::format("format version {} was written by {} minivmm; this one reads version {} only",
                       version, version > kVmstateVersion ? "a newer" : "an older", kVmstateVersion));
    const auto flags = static_cast<std::uint32_t>(load_le(file, 12, 4));
    const std::uint64_t length = load_le(file, 16, 8);
    if (length > kMaxVmstateSize)
        fail(name, fmt::format("the header claims {} bytes, over the limit of {}", length, kMaxVmstateSize));
    if (length > file.size())
        fail(name, fmt::format("truncated: {} bytes of the {} the header claims", file.size(), length));
    if (length < file.size())
        fail(name, fmt::format("{} trailing bytes after the {} the header claims", file.size() - length, length));
    const auto stored_checksum = static_cast<std::uint32_t>(load_le(file, kChecksumOffset, 4));
    const std::uint32_t checksum = file_checksum(file);
    if (stored_checksum != checksum)
        fail(name, fmt::format("checksum mismatch (stored CRC32C {:08x}, contents give {:08x}): the file is corrupt",
                       stored_checksum, checksum));
    // Checked after the checksum: a flipped bit anywhere is "corrupt", a valid file with flags is
    // a format this reader does not know.
    if (flags != 0)
        fail(name, fmt::format("unknown flags {:#x} (this minivmm writes and reads 0)", flags));
    const auto section_count = static_cast<std::uint32_t>(load_le(file, 28, 4));

    Vmstate state;
    std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
    std::size_t offset = kVmstateHeaderSize;
    for (std::uint32_t i = 0; i < section_count; ++i) {
        if (file.size() - offset < kSectionHeaderSize)
            fail(name, fmt::format("section {} of {}: its header at offset {} runs past the end ({} bytes)", i,
                           section_count, offset, file.size()));
        const auto type = static_cast<std::uint32_t>(load_le(file, offset, 4));
        const auto instance = static_cast<std::uint32_t>(load_le(file, offset + 4, 4));
        const std::uint64_t size = load_le(file, offset + 8, 8);
        offset += kSectionHeaderSize;
        if (size > file.size() - offset)
            fail(name, fmt::format("section {} of {}: its {} bytes at offset {} run past the end ({} bytes)", i,
                           section_count, size, offset, file.size()));
        if (!known_type(type))
            fail(name, fmt::format("section {} of {}: unknown type {}", i, section_count, type));
        if (!seen.emplace(type, instance).second)
            fail(name, fmt::format("duplicate section {}", section_name(static_cast<SectionType>(type), instance)));
        const auto payload = file.subspan(offset, static_cast<std::size_t>(size));
        state.sections.push_back(Section {static_cast<SectionType>(type), instance, {payload.begin(), payload.end()}});
        offset += static_cast<std::size_t>(size);
    }
    if (offset != file.size())
        fail(name, fmt::format("{} bytes after the last of {} sections", file.size() - offset, section_count));
    return state;
}

// Removes the temporary file unless it was published.
class TemporaryName {
public:
    TemporaryName(int directory, std::string name) : m_directory(directory), m_name(std::move(name)) {}
    ~TemporaryName()
    {
        if (m_present)
            (void)::unlinkat(m_directory, m_name.c_str(), 0);
    }
    TemporaryName(const TemporaryName&) = delete;
    TemporaryName& operator=(const TemporaryName&) = delete;
    void published() { m_present = false; }
    [[nodiscard]] const std::string& name() const { return m_name; }

private:
    int m_directory;
    std::string m_name;
    bool m_present = true;
};

} // namespace

std::string section_name(SectionType type, std::uint32_t instance)
{
    switch (type) {
    case SectionType::MachineConfig: return "machine config";
    case SectionType::Vcpu: return fmt::format("vcpu {}", instance);
    case SectionType::Irqchip: return "irqchip";
    case SectionType::Pit: return "pit";
    case SectionType::Clock: return "clock";
    case SectionType::Device: return fmt::format("device {}", instance);
    case SectionType::Limiter: return fmt::format("limiter {}", instance);
    }
    return fmt::format("section type {} instance {}", static_cast<std::uint32_t>(type), instance);
}

const Section& Vmstate::find(SectionType type, std::uint32_t instance) const
{
    for (const Section& section : sections)
        if (section.type == type && section.instance == instance)
            return section;
    throw SnapshotError(fmt::format("vmstate: missing section {}", section_name(type, instance)));
}

bool Vmstate::has(SectionType type, std::uint32_t instance) const
{
    for (const Section& section : sections)
        if (section.type == type && section.instance == instance)
            return true;
    return false;
}

std::vector<std::uint8_t> encode_vmstate(const Vmstate& state)
{
    std::uint64_t total = kVmstateHeaderSize;
    std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
    for (const Section& section : state.sections) {
        // Our own bug, not the user's: a file with these could never be read back.
        if (!known_type(static_cast<std::uint32_t>(section.type)))
            throw std::logic_error(fmt::format("vmstate: encoding an unknown section type {}",
                static_cast<std::uint32_t>(section.type)));
        if (!seen.emplace(static_cast<std::uint32_t>(section.type), section.instance).second)
            throw std::logic_error(
                fmt::format("vmstate: encoding section {} twice", section_name(section.type, section.instance)));
        total += kSectionHeaderSize + section.payload.size();
    }
    if (total > kMaxVmstateSize)
        throw SnapshotError(fmt::format("vmstate: {} bytes of state, over the format's limit of {}", total, kMaxVmstateSize));
    if (state.sections.size() > UINT32_MAX)
        throw SnapshotError("vmstate: too many sections");

    std::vector<std::uint8_t> file(kVmstateHeaderSize);
    file.reserve(static_cast<std::size_t>(total));
    std::memcpy(file.data(), kVmstateMagic, 8);
    store_le(file, 8, kVmstateVersion, 4);
    store_le(file, 12, 0, 4);
    store_le(file, 16, total, 8);
    store_le(file, 28, state.sections.size(), 4);
    for (const Section& section : state.sections) {
        const std::size_t at = file.size();
        file.resize(at + kSectionHeaderSize);
        store_le(file, at, static_cast<std::uint32_t>(section.type), 4);
        store_le(file, at + 4, section.instance, 4);
        store_le(file, at + 8, section.payload.size(), 8);
        file.insert(file.end(), section.payload.begin(), section.payload.end());
    }
    store_le(file, kChecksumOffset, file_checksum(file), 4);
    return file;
}

Vmstate decode_vmstate(std::span<const std::uint8_t> file)
{
    return decode(file, "vmstate");
}

StateReader section_reader(const Section& section)
{
    return StateReader(section.payload, section_name(section.type, section.instance));
}

void write_vmstate_file(const std::string& directory, const Vmstate& state)
{
    const std::vector<std::uint8_t> file = encode_vmstate(state);
    const std::string path = fmt::format("{}/{}", directory, kFileName);
    UniqueFd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
        throw SysError(fmt::format("open the snapshot directory {}", directory));

    // A name of our own beside the final one (O_EXCL: never someone else's file), renamed over
    // DIR/vmstate only once its bytes are durable, so a crash or a full disk leaves either no
    // vmstate or a whole one. A counter keeps two snapshots of one process apart.
    static std::atomic<unsigned> counter {0};
    UniqueFd out;
    std::string temporary;
    for (int attempt = 0; !out; ++attempt) {
        temporary = fmt::format(".{}.partial-{}-{}", kFileName, ::getpid(), counter.fetch_add(1));
        out.reset(::openat(dir.get(), temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!out && (errno != EEXIST || attempt >= 16))
            throw SysError(fmt::format("create {}/{}", directory, temporary));
    }
    TemporaryName guard(dir.get(), temporary);
    if (const int error = pwrite_exact(out.get(), file.data(), file.size(), 0); error != 0)
        throw SysError(fmt::format("write {}/{}", directory, temporary), -error);
    if (::fsync(out.get()) != 0)
        throw SysError(fmt::format("fsync {}/{}", directory, temporary));
    if (::renameat(dir.get(), temporary.c_str(), dir.get(), kFileName) != 0)
        throw SysError(fmt::format("rename {}/{} to {}", directory, temporary, path));
    guard.published();
    // The rename is durable only once the directory is.
    if (::fsync(dir.get()) != 0)
        throw SysError(fmt::format("fsync the snapshot directory {}", directory));
}

Vmstate read_vmstate_file(const std::string& directory)
{
    const std::string path = fmt::format("{}/{}", directory, kFileName);
    UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in)
        fail(path, fmt::format("cannot open: {}", std::strerror(errno)));
    struct stat status {};
    if (::fstat(in.get(), &status) != 0)
        fail(path, fmt::format("cannot stat: {}", std::strerror(errno)));
    if (!S_ISREG(status.st_mode))
        fail(path, "not a regular file");
    const auto size = static_cast<std::uint64_t>(status.st_size);
    if (size > kMaxVmstateSize)
        fail(path, fmt::format("{} bytes, over the format's limit of {}", size, kMaxVmstateSize));
    std::vector<std::uint8_t> file(static_cast<std::size_t>(size));
    if (const int error = pread_exact(in.get(), file.data(), file.size(), 0); error != 0)
        fail(path, fmt::format("cannot read: {}", std::strerror(-error)));
    return decode(file, path);
}

} // namespace minivmm::snapshot
