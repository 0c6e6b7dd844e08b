#include "vmm/cli/guest_command.hpp"

#include <cstdint>

namespace minivmm::cli {

std::string base64_encode(std::string_view bytes)
{
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t group = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8) | std::uint8_t(bytes[i + 2]);
        out += kAlphabet[(group >> 18) & 63];
        out += kAlphabet[(group >> 12) & 63];
        out += kAlphabet[(group >> 6) & 63];
        out += kAlphabet[group & 63];
    }
    if (const std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t group = std::uint8_t(bytes[i]) << 16;
        if (rest == 2)
            group |= std::uint8_t(bytes[i + 1]) << 8;
        out += kAlphabet[(group >> 18) & 63];
        out += kAlphabet[(group >> 12) & 63];
        out += rest == 2 ? kAlphabet[(group >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string shell_command(const std::vector<std::string>& words)
{
    if (words.size() == 1)
        return words.front();
    std::string command;
    for (const auto& word : words) {
        if (!command.empty())
            command += ' ';
        command += '\'';
        for (char c : word) {
            if (c == '\'')
                command += "'\\''"; // close the quote, an escaped quote, reopen
            else
                command += c;
        }
        command += '\'';
    }
    return command;
}

std::string guest_command_parameter(const std::vector<std::string>& words)
{
    return "minivmm.cmd=" + base64_encode(shell_command(words));
}

} // namespace minivmm::cli
