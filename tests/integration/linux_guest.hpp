// Helpers for tests that boot real Linux images (guest-images/, exported by tools/test.sh as
// MINIVMM_IMAGE_<NAME>): finding an image, and knowing whether guest user space can run here.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "tests/integration/vmm_harness.hpp"

namespace minivmm::testing {

// True when /dev/kvm is software-emulated (the kvm_pvm module, or no vmx/svm flag in
// /proc/cpuinfo): Linux boots take minutes and guest user space cannot run (MACHINE-NOTES.md).
inline bool host_kvm_is_software_emulated()
{
    std::error_code error;
    if (std::filesystem::exists("/sys/module/kvm_pvm", error))
        return true;
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("flags", 0) == 0)
            return line.find(" vmx") == std::string::npos && line.find(" svm") == std::string::npos;
    }
    return true;
}

inline bool slow_tests_enabled()
{
    const char* slow = std::getenv("MINIVMM_SLOW_TESTS");
    return slow && std::string(slow) == "1";
}

// The path tools/test.sh exported as MINIVMM_IMAGE_<name>, if it exists. Missing under CI=true
// is a failure; elsewhere a WARN and nullopt.
inline std::optional<std::string> linux_image(const std::string& name)
{
    const std::string variable = "MINIVMM_IMAGE_" + name;
    const char* path = std::getenv(variable.c_str());
    if (path && std::filesystem::exists(path))
        return std::string(path);
    if (running_in_ci())
        FAIL(variable << " is not set or missing, and CI=true: run guest-images/build-all.sh (tools/test.sh does)");
    WARN(variable << " is not set: skipping (guest-images/build-all.sh builds it; tools/test.sh exports it)");
    return std::nullopt;
}

} // namespace minivmm::testing
