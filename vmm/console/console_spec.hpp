// ConsoleSpec: where the guest's serial console goes, parsed from the `--serial` option
// ("stdio", "file:PATH" or "none"; README.md, "Command line").
#pragma once

#include <string>
#include <string_view>

namespace minivmm {

struct ConsoleSpec {
    enum class Kind {
        Stdio, // guest output to stdout, stdin to the guest (Ctrl-A escapes)
        File,  // guest output to `path` (created or truncated), no input
        None,  // guest output discarded, no input
    };

    Kind kind = Kind::Stdio;
    std::string path; // Kind::File only

    // Throws UserError naming the accepted forms when `value` is none of them.
    static ConsoleSpec parse(std::string_view value);

    bool operator==(const ConsoleSpec&) const = default;
};

} // namespace minivmm
