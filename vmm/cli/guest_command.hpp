// Command mode (`minivmm run ... -- COMMAND ARGS...`): the command travels to the guest on the
// kernel command line as `minivmm.cmd=<base64>` (RFC 4648 §4), which the project's initramfs
// /init decodes and runs with `sh -c` (guest-images/initramfs/init). Base64 because the kernel
// splits its command line on spaces and treats quotes its own way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace minivmm::cli {

// RFC 4648 §4 base64 with padding.
std::string base64_encode(std::string_view bytes);
// The words joined into one `sh -c` string, each single-quoted (POSIX sh, "Quoting") so spaces
// and metacharacters in an argument stay in it. A single word is passed as it is, so
// `-- 'echo hi | wc -c'` keeps its pipe.
std::string shell_command(const std::vector<std::string>& words);
// "minivmm.cmd=<base64 of shell_command(words)>".
std::string guest_command_parameter(const std::vector<std::string>& words);

} // namespace minivmm::cli
