// Catch2 v2 main for the unit tests (no /dev/kvm needed).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
