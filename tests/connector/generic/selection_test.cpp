// taxii2.collections: `api_root.collection` entries with wildcards, dots in titles, cursor keys.
#include "kfc/generic/selection.h"

#include <gtest/gtest.h>

namespace kfc::generic {
namespace {

taxii::Collection collection(std::string id, std::string title, std::string alias = {}) {
  taxii::Collection c;
  c.id = std::move(id);
  c.title = std::move(title);
  c.alias = std::move(alias);
  c.can_read = true;
  return c;
}

TEST(Selection, TheApiRootNameIsTheLastSegmentOfItsPath) {
  EXPECT_EQ(api_root_name("https://taxii.example.org/api1/"), "api1");
  EXPECT_EQ(api_root_name("https://taxii.example.org/taxii/feeds/v2.1/"), "v2.1");
  EXPECT_EQ(api_root_name("http://127.0.0.1:8080/feeds?x=1"), "feeds");
  EXPECT_EQ(api_root_name("https://taxii.example.org/"), "");
}

TEST(Selection, WildcardsOnBothSides) {
  const auto feed = collection("91a7b528-80eb-42ed-a74d-c6fbd5a26116", "Phishing Feed");
  EXPECT_TRUE(entry_selects("*.*", "api1", feed));
  EXPECT_TRUE(entry_selects("api1.*", "api1", feed));
  EXPECT_FALSE(entry_selects("api2.*", "api1", feed));
  EXPECT_TRUE(entry_selects("api?.Phishing*", "api1", feed));
  EXPECT_TRUE(entry_selects("*.91a7b528-*", "api1", feed));  // by id
  EXPECT_FALSE(entry_selects("*.Malware*", "api1", feed));
  EXPECT_FALSE(entry_selects("api1", "api1", feed));  // no dot: nothing
}

TEST(Selection, DotsInTitlesAndRootNamesWork) {
  const auto dotted = collection("c1", "ACME Phishing & Malware Feed v2.1");
  EXPECT_TRUE(entry_selects("feeds.ACME Phishing & Malware Feed v2.1", "feeds", dotted));
  EXPECT_TRUE(entry_selects("feeds.*v2.1", "feeds", dotted));
  EXPECT_TRUE(entry_selects("taxii.v2.1.ACME*", "taxii.v2.1", dotted));  // dots on both sides
  EXPECT_FALSE(entry_selects("feeds.ACME Phishing & Malware Feed v2.0", "feeds", dotted));
}

TEST(Selection, AliasesMatchToo) {
  EXPECT_TRUE(entry_selects("*.phishing", "api1", collection("c1", "Phishing Feed", "phishing")));
}

TEST(Selection, AnyEntrySelects) {
  const auto feed = collection("c1", "Feed");
  EXPECT_TRUE(is_selected({"api2.*", "api1.Feed"}, "api1", feed));
  EXPECT_FALSE(is_selected({"api2.*"}, "api1", feed));
  EXPECT_FALSE(is_selected({}, "api1", feed));
}

TEST(Selection, CursorKeysNameTheRootPathAndTheCollectionNotTheHost) {
  EXPECT_EQ(cursor_key("https://a.example.org:8443/taxii/api1/", "c1"), "taxii/api1.c1");
  EXPECT_EQ(cursor_key("http://127.0.0.1:5555/taxii/api1/", "c1"), "taxii/api1.c1");
  EXPECT_NE(cursor_key("https://h/api1/", "c1"), cursor_key("https://h/api2/", "c1"));
}

}  // namespace
}  // namespace kfc::generic
