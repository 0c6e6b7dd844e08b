// run_main: parses the command line, runs the chosen subcommand, maps errors to exit codes.
#pragma once

namespace minivmm::cli {

int run_main(int argc, char** argv);

} // namespace minivmm::cli
