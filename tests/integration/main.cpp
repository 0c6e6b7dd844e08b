// Catch2 v2 main for the integration tests (real guests on /dev/kvm).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
