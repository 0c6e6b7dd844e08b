// DirtyPageBitmap (vmm/memory/dirty_pages.hpp): KVM_GET_DIRTY_LOG's word layout, no bits past the
// last page, merge and count.
#include <catch2/catch.hpp>

#include "vmm/memory/dirty_pages.hpp"

using namespace minivmm;

TEST_CASE("a dirty page bitmap keeps one bit per page in KVM's word layout")
{
    DirtyPageBitmap bitmap(130);
    REQUIRE(bitmap.words().size() == 3);
    bitmap.set(0);
    bitmap.set(65);
    bitmap.set(129);
    CHECK(bitmap.test(65));
    CHECK_FALSE(bitmap.test(64));
    CHECK_FALSE(bitmap.test(130)); // past the end: never dirty
    CHECK(bitmap.words()[0] == 1);
    CHECK(bitmap.words()[1] == 2);
    CHECK(bitmap.words()[2] == 2);
    CHECK(bitmap.count() == 3);
}

TEST_CASE("set_all marks every page and none past the end; clear and merge")
{
    DirtyPageBitmap all(130);
    all.set_all();
    CHECK(all.count() == 130);
    CHECK(all.words()[2] == 3);

    DirtyPageBitmap some(130);
    some.set(7);
    DirtyPages pages{{some, DirtyPageBitmap(5)}};
    CHECK(pages.count() == 1);
    some.merge(all);
    CHECK(some.count() == 130);
    some.clear();
    CHECK(some.count() == 0);
}
